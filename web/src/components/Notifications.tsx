// A job's notifications: in its form, "use my defaults" or its own rules (the shared rule
// editor); on its page, what applies and its incident history.
import { useCallback, useEffect, useState } from "react";
import { useClient, useQuery } from "urql";
import { errorReport, errorText, type ErrorReport } from "../api/errors";
import { AlertSettingsQuery, IncidentsQuery, JobAlertRulesQuery, SetJobAlertRulesMutation } from "../api/operations";
import type { AlertChannelFieldsFragment } from "../gql/graphql";
import { useCurrentUser } from "../auth/SessionProvider";
import {
  describeRules,
  emptyRules,
  rulesFormFrom,
  sameRules,
  toRulesInput,
  usableChannels,
  validateRules,
  type RulesForm,
} from "../lib/alerts";
import { Link } from "../router";
import { AlertRulesEditor } from "./AlertRulesEditor";
import { IncidentTable } from "./IncidentTable";
import { EmptyState, ErrorList, Segmented, Spinner } from "./ui";

export type NotifyMode = "defaults" | "own";

export interface JobNotifyState {
  mode: NotifyMode;
  rules: RulesForm;
}

const EMPTY: ErrorReport = { fields: {}, general: [], code: null };

/** The form's notification state: loaded for an existing job, saved after the job is. */
export function useJobNotifications(jobId: string | undefined) {
  const client = useClient();
  const user = useCurrentUser();
  const [settings] = useQuery({ query: AlertSettingsQuery, requestPolicy: "cache-and-network" });
  const [own] = useQuery({ query: JobAlertRulesQuery, variables: { jobId: jobId ?? "" }, pause: !jobId, requestPolicy: "network-only" });
  const [initial, setInitial] = useState<JobNotifyState | null>(jobId ? null : { mode: "defaults", rules: emptyRules() });
  const [state, setState] = useState<JobNotifyState>({ mode: "defaults", rules: emptyRules() });
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);
  useEffect(() => {
    if (!jobId || initial || !own.data || !settings.data) return;
    const rules = own.data.jobAlertRules;
    // A new own rule starts from the defaults, so switching is a small step.
    const loaded: JobNotifyState = rules
      ? { mode: "own", rules: rulesFormFrom(rules) }
      : { mode: "defaults", rules: rulesFormFrom(settings.data.defaultAlertRules) };
    setInitial(loaded);
    setState(loaded);
  }, [jobId, initial, own.data, settings.data]);
  useEffect(() => {
    if (jobId || !settings.data) return;
    setState((s) => (s.mode === "defaults" ? { ...s, rules: rulesFormFrom(settings.data?.defaultAlertRules) } : s));
  }, [jobId, settings.data]);

  const update = (next: JobNotifyState) => {
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

  /** Save what changed for the job; null, or the reason it failed (also shown by the section). */
  const save = useCallback(
    async (id: string): Promise<string | null> => {
      const before = initial ?? { mode: "defaults", rules: emptyRules() };
      const unchanged =
        state.mode === before.mode && (state.mode === "defaults" || sameRules(state.rules, before.rules));
      if (unchanged) return null;
      const rules = state.mode === "own" ? toRulesInput(state.rules) : null;
      const res = await client.mutation(SetJobAlertRulesMutation, { jobId: id, rules }).toPromise();
      if (res.error) {
        setErrors(errorReport(res.error, "rules"));
        return errorText(res.error);
      }
      setInitial(state);
      return null;
    },
    [client, initial, state],
  );

  return {
    state,
    update,
    errors,
    check,
    save,
    loading: !settings.data || (Boolean(jobId) && !initial),
    // The job owner's channels and the shared ones: an admin editing someone's job sees
    // every channel, but the rule may only name those.
    channels: usableChannels(settings.data?.alertChannels ?? [], own.data?.job?.owner?.id ?? user.id),
    // The defaults that apply are the job owner's: the caller's own only on their jobs.
    defaults: settings.data?.defaultAlertRules ?? null,
    ownersDefaults: Boolean(own.data?.job?.owner && own.data.job.owner.id !== user.id),
  };
}

type Notifications = ReturnType<typeof useJobNotifications>;

/** The job form's "Notifications" section. */
export function JobNotificationsSection({ notify, disabled }: { notify: Notifications; disabled?: boolean }) {
  const { state, update, errors, channels, defaults } = notify;
  // The job page's "Notifications" button links here (#notifications).
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
          Who is told when this job fails, and when it recovers. Channels are set up in{" "}
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
              { value: "own", label: "This job's own rules" },
            ]}
          />
          <div style={{ marginTop: 12 }}>
            {state.mode === "defaults" ? (
              <p className="muted small" data-testid="defaults-summary">
                {notify.ownersDefaults ? (
                  "The job's owner's default rules apply."
                ) : (
                  <>
                    {defaults ? describeRules(defaults, channels) : "You have no default rules yet: this job notifies nobody."}{" "}
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

/** The job page's card: which rules apply, and the job's latest incidents. */
export function JobAlertsCard({ jobId, refreshKey, mayChange }: { jobId: string; refreshKey: string; mayChange: boolean }) {
  const user = useCurrentUser();
  const [settings] = useQuery({ query: AlertSettingsQuery });
  const [own] = useQuery({ query: JobAlertRulesQuery, variables: { jobId } });
  const [incidents, refetch] = useQuery({ query: IncidentsQuery, variables: { jobId, first: HISTORY } });
  useEffect(() => {
    if (refreshKey) refetch({ requestPolicy: "network-only" });
  }, [refreshKey, refetch]);
  const channels: AlertChannelFieldsFragment[] = settings.data?.alertChannels ?? [];
  const rules = own.data?.jobAlertRules;
  const defaults = settings.data?.defaultAlertRules;
  const items = incidents.data?.incidents.edges.map((e) => e.node) ?? [];
  return (
    <div className="card" aria-label="Notifications and incidents">
      <div className="card-header">
        <h2>Incidents</h2>
        {mayChange ? (
          <Link to={`/jobs/${jobId}/edit#notifications`} className="btn btn-sm">
            Notifications
          </Link>
        ) : null}
      </div>
      <div className="card-body">
        <p className="small muted" data-testid="job-rules-summary">
          {!own.data || !settings.data
            ? "…"
            : rules
              ? `Own rules: ${describeRules(rules, channels)}`
              : own.data.job?.owner && own.data.job.owner.id !== user.id
                ? "Its owner's default rules apply."
                : defaults
                ? `Your defaults: ${describeRules(defaults, channels)}`
                : "No rules: this job notifies nobody."}
        </p>
      </div>
      {incidents.error && !incidents.data ? (
        <ErrorList messages={[errorText(incidents.error)]} />
      ) : incidents.data && items.length === 0 ? (
        <EmptyState title="No incidents">A failing streak of this job would be listed here.</EmptyState>
      ) : (
        <IncidentTable incidents={items} loading={!incidents.data} showSubject={false} label="Job incidents" />
      )}
      {incidents.data?.incidents.pageInfo.hasNextPage ? (
        <div className="card-footer">
          <Link to="/incidents">All incidents</Link>
        </div>
      ) : null}
    </div>
  );
}
