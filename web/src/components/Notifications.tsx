// A job's or monitor's notifications: in its form, "use my defaults" or its own rules (the
// shared rule editor); on its page, what applies and its incident history.
import { useCallback, useEffect, useState } from "react";
import { useClient, useQuery } from "urql";
import { errorReport, errorText, type ErrorReport } from "../api/errors";
import {
  AlertSettingsQuery,
  IncidentsQuery,
  JobAlertRulesQuery,
  MonitorAlertRulesQuery,
  SetJobAlertRulesMutation,
  SetMonitorAlertRulesMutation,
} from "../api/operations";
import type { AlertRulesFieldsFragment } from "../gql/graphql";
import type { AlertChannelFieldsFragment } from "../gql/graphql";
import { useCurrentUser } from "../auth/SessionProvider";
import {
  appliedRules,
  describeRules,
  emptyRules,
  rulesFormFrom,
  sameRules,
  toRulesInput,
  usableChannels,
  validateRules,
  type RuleSubject,
  type RulesForm,
} from "../lib/alerts";
import { Link } from "../router";
import { AlertRulesEditor } from "./AlertRulesEditor";
import { IncidentTable } from "./IncidentTable";
import { EmptyState, ErrorList, Segmented, Spinner } from "./ui";

export type NotifyMode = "defaults" | "own";

export interface NotifyState {
  mode: NotifyMode;
  rules: RulesForm;
}

const EMPTY: ErrorReport = { fields: {}, general: [], code: null };

/** A job's or monitor's own rules and its owner, once loaded (undefined until then); the
 * client's request policy unless `network-only` is asked for. */
function useOwnRules(
  subject: RuleSubject,
  id: string | undefined,
  requestPolicy?: "network-only",
): { rules: AlertRulesFieldsFragment | null; ownerId: string | undefined } | undefined {
  const [job] = useQuery({ query: JobAlertRulesQuery, variables: { jobId: id ?? "" }, pause: !id || subject !== "job", requestPolicy });
  const [monitor] = useQuery({
    query: MonitorAlertRulesQuery,
    variables: { monitorId: id ?? "" },
    pause: !id || subject !== "monitor",
    requestPolicy,
  });
  if (subject === "job") {
    return job.data ? { rules: job.data.jobAlertRules ?? null, ownerId: job.data.job?.owner?.id } : undefined;
  }
  return monitor.data ? { rules: monitor.data.monitorAlertRules ?? null, ownerId: monitor.data.monitor?.owner?.id } : undefined;
}

/** The form's notification state: loaded for an existing job or monitor, saved after it is. */
export function useNotifications(subject: RuleSubject, id: string | undefined) {
  const client = useClient();
  const user = useCurrentUser();
  const [settings] = useQuery({ query: AlertSettingsQuery, requestPolicy: "cache-and-network" });
  const own = useOwnRules(subject, id, "network-only");
  const [initial, setInitial] = useState<NotifyState | null>(id ? null : { mode: "defaults", rules: emptyRules() });
  const [state, setState] = useState<NotifyState>({ mode: "defaults", rules: emptyRules() });
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);
  useEffect(() => {
    if (!id || initial || !own || !settings.data) return;
    const rules = own.rules;
    // A new own rule starts from the defaults, so switching is a small step.
    const loaded: NotifyState = rules
      ? { mode: "own", rules: rulesFormFrom(rules) }
      : { mode: "defaults", rules: rulesFormFrom(settings.data.defaultAlertRules) };
    setInitial(loaded);
    setState(loaded);
  }, [id, initial, own, settings.data]);
  useEffect(() => {
    if (id || !settings.data) return;
    setState((s) => (s.mode === "defaults" ? { ...s, rules: rulesFormFrom(settings.data?.defaultAlertRules) } : s));
  }, [id, settings.data]);

  const update = (next: NotifyState) => {
    setState(next);
    setErrors(EMPTY);
  };

  /** Client-side checks; true when the rules may be saved. */
  const check = (): boolean => {
    if (state.mode !== "own") return true;
    const found = validateRules(state.rules);
    setErrors({ fields: found, general: [], code: null });
    return Object.keys(found).length === 0;
  };

  /** Save what changed for the job or monitor `saved`; null, or the reason it failed (also
   * shown by the section). */
  const save = useCallback(
    async (saved: string): Promise<string | null> => {
      const before = initial ?? { mode: "defaults", rules: emptyRules() };
      const unchanged =
        state.mode === before.mode && (state.mode === "defaults" || sameRules(state.rules, before.rules));
      if (unchanged) return null;
      const rules = state.mode === "own" ? toRulesInput(state.rules) : null;
      const res =
        subject === "job"
          ? await client.mutation(SetJobAlertRulesMutation, { jobId: saved, rules }).toPromise()
          : await client.mutation(SetMonitorAlertRulesMutation, { monitorId: saved, rules }).toPromise();
      if (res.error) {
        setErrors(errorReport(res.error, "rules"));
        return errorText(res.error);
      }
      setInitial(state);
      return null;
    },
    [client, initial, state, subject],
  );

  return {
    subject,
    state,
    update,
    errors,
    check,
    save,
    loading: !settings.data || (Boolean(id) && !initial),
    // The owner's channels and the shared ones: an admin editing someone's job or monitor
    // sees every channel, but the rule may only name those.
    channels: usableChannels(settings.data?.alertChannels ?? [], own?.ownerId ?? user.id),
    // The defaults that apply are the owner's: the caller's own only on their own things.
    defaults: settings.data?.defaultAlertRules ?? null,
    ownersDefaults: Boolean(own?.ownerId && own.ownerId !== user.id),
  };
}

type Notifications = ReturnType<typeof useNotifications>;

/** The job or monitor form's "Notifications" section. */
export function NotificationsSection({ notify, disabled }: { notify: Notifications; disabled?: boolean }) {
  const { subject, state, update, errors, channels, defaults } = notify;
  // The job or monitor page's "Notifications" button links here (#notifications).
  useEffect(() => {
    if (!notify.loading && window.location.hash === "#notifications") {
      document.getElementById("notifications")?.scrollIntoView({ block: "start" });
    }
  }, [notify.loading]);
  return (
    <section className="form-section" id="notifications" aria-label="Notifications">
      <header>
        <h2>Notifications</h2>
        <p>
          Who is told when this {subject} {subject === "job" ? "fails" : "is late or down"}, and when it recovers. Channels are set up in{" "}
          <Link to="/notifications">Notifications</Link>.
        </p>
      </header>
      {notify.loading ? (
        <Spinner label="Loading the rules" />
      ) : (
        <>
          <Segmented<NotifyMode>
            label="Which rules"
            value={state.mode}
            onChange={(mode) => update({ ...state, mode })}
            options={[
              { value: "defaults", label: "Use my defaults" },
              { value: "own", label: `This ${subject}'s own rules` },
            ]}
          />
          <div style={{ marginTop: 12 }}>
            {state.mode === "defaults" ? (
              <p className="muted small" data-testid="defaults-summary">
                {notify.ownersDefaults ? (
                  `The ${subject}'s owner's default rules apply.`
                ) : (
                  <>
                    {defaults ? describeRules(defaults, channels, subject) : `You have no default rules yet: this ${subject} notifies nobody.`}{" "}
                    <Link to="/notifications">Change the defaults</Link>
                  </>
                )}
              </p>
            ) : (
              <>
                <ErrorList messages={errors.general} />
                <AlertRulesEditor
                  value={state.rules}
                  onChange={(rules) => update({ ...state, rules })}
                  channels={channels}
                  errors={errors.fields}
                  disabled={disabled}
                  subject={subject}
                />
              </>
            )}
          </div>
        </>
      )}
    </section>
  );
}

const HISTORY = 10;

/** The job's or monitor's page card: which rules apply, and its latest incidents. */
export function AlertsCard({
  subject,
  id,
  refreshKey,
  mayChange,
}: {
  subject: RuleSubject;
  id: string;
  refreshKey: string;
  mayChange: boolean;
}) {
  const user = useCurrentUser();
  const [settings] = useQuery({ query: AlertSettingsQuery });
  const own = useOwnRules(subject, id);
  const filter = subject === "job" ? { jobId: id } : { monitorId: id };
  const [incidents, refetch] = useQuery({ query: IncidentsQuery, variables: { ...filter, first: HISTORY } });
  useEffect(() => {
    if (refreshKey) refetch({ requestPolicy: "network-only" });
  }, [refreshKey, refetch]);
  const channels: AlertChannelFieldsFragment[] = settings.data?.alertChannels ?? [];
  const items = incidents.data?.incidents.edges.map((e) => e.node) ?? [];
  const Subject = subject === "job" ? "Job" : "Monitor";
  return (
    <div className="card" aria-label="Notifications and incidents">
      <div className="card-header">
        <h2>Incidents</h2>
        {mayChange ? (
          <Link to={`/${subject}s/${id}/edit#notifications`} className="btn btn-sm">
            Notifications
          </Link>
        ) : null}
      </div>
      <div className="card-body">
        <p className="small muted" data-testid={`${subject}-rules-summary`}>
          {!own || !settings.data
            ? "…"
            : appliedRules({
                subject,
                own: own.rules,
                defaults: settings.data.defaultAlertRules,
                channels,
                ownersDefaults: Boolean(own.ownerId && own.ownerId !== user.id),
              })}
        </p>
      </div>
      {incidents.error && !incidents.data ? (
        <ErrorList messages={[errorText(incidents.error)]} />
      ) : incidents.data && items.length === 0 ? (
        <EmptyState title="No incidents">
          {subject === "job" ? "A failing streak of this job" : "A missed or failed ping of this monitor"} would be listed here.
        </EmptyState>
      ) : (
        <IncidentTable incidents={items} loading={!incidents.data} showSubject={false} label={`${Subject} incidents`} />
      )}
      {incidents.data?.incidents.pageInfo.hasNextPage ? (
        <div className="card-footer">
          <Link to="/incidents">All incidents</Link>
        </div>
      ) : null}
    </div>
  );
}
