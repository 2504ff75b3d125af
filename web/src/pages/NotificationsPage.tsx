// Notification settings: the channels alerts go to (e-mail, webhook, Slack; a webhook's
// signing secret is shown once), a test message per channel, and the default rules.
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { errorReport, errorText, unplacedErrors, type ErrorReport } from "../api/errors";
import {
  AlertSettingsQuery,
  CreateAlertChannelMutation,
  DeleteAlertChannelMutation,
  SendTestNotificationMutation,
  SetDefaultAlertRulesMutation,
} from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { AlertRulesEditor } from "../components/AlertRulesEditor";
import { SecretOnce } from "../components/SecretOnce";
import { RelativeTime } from "../components/RelativeTime";
import {
  ConfirmDialog,
  EmptyState,
  ErrorList,
  ErrorState,
  Field,
  PageLoading,
  Segmented,
  Spinner,
  Switch,
  useToast,
} from "../components/ui";
import type { AlertChannelFieldsFragment, ChannelKind } from "../gql/graphql";
import {
  CHANNEL_KINDS,
  channelOwnership,
  emptyRules,
  kindLabel,
  rulesFormFrom,
  targetField,
  toChannelInput,
  toRulesInput,
  usableChannels,
  validateChannel,
  validateRules,
  type ChannelForm,
  type RulesForm,
} from "../lib/alerts";
import { useDocumentTitle } from "../lib/hooks";
import { Link } from "../router";

const EMPTY: ErrorReport = { fields: {}, general: [], code: null };
const RULE_FIELDS = ["channelIds", "failureThreshold", "remindEveryHours"];

export function NotificationsPage() {
  useDocumentTitle("Notifications");
  const [result, reexecute] = useQuery({ query: AlertSettingsQuery, requestPolicy: "cache-and-network" });
  const refetch = () => reexecute({ requestPolicy: "network-only" });
  if (result.error && !result.data) return <ErrorState error={result.error} retry={refetch} />;
  if (!result.data) return <PageLoading label="Loading your channels…" />;
  const channels = result.data.alertChannels;
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Notifications</h1>
          <p className="subtitle">
            Where dts tells you that a job or monitor stopped working, and when. A job or monitor can have its own rules in its form;
            open problems are on <Link to="/incidents">Incidents</Link>.
          </p>
        </div>
      </div>
      <div className="stack">
        <ChannelsCard channels={channels} refetch={refetch} />
        <DefaultRulesCard channels={channels} rules={result.data.defaultAlertRules} />
      </div>
    </>
  );
}

function ChannelsCard({ channels, refetch }: { channels: AlertChannelFieldsFragment[]; refetch: () => void }) {
  const user = useCurrentUser();
  const toast = useToast();
  const isAdmin = user.role === "ADMIN";
  const [, createChannel] = useMutation(CreateAlertChannelMutation);
  const [removal, deleteChannel] = useMutation(DeleteAlertChannelMutation);
  const [, sendTest] = useMutation(SendTestNotificationMutation);
  const [form, setForm] = useState<ChannelForm>({ kind: "EMAIL", name: "", target: "", shared: false });
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [confirm, setConfirm] = useState<AlertChannelFieldsFragment | null>(null);
  const [tests, setTests] = useState<Record<string, { busy: boolean; ok?: boolean; text?: string }>>({});
  const kind = CHANNEL_KINDS.find((k) => k.value === form.kind) ?? CHANNEL_KINDS[0]!;
  const field = targetField(form.kind);

  const set = (patch: Partial<ChannelForm>) => {
    setForm((f) => ({ ...f, ...patch }));
    setErrors(EMPTY);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateChannel(form);
    if (Object.keys(found).length) {
      setErrors({ fields: found, general: [], code: null });
      return;
    }
    setBusy(true);
    const res = await createChannel({ input: toChannelInput(form) });
    setBusy(false);
    if (res.error) {
      setErrors(errorReport(res.error));
      return;
    }
    const made = res.data?.createAlertChannel;
    if (!made) return;
    toast(`Channel "${made.channel.name}" created`);
    setCreated(made.signingSecret ? { name: made.channel.name, secret: made.signingSecret } : null);
    setForm((f) => ({ ...f, name: "", target: "" }));
    refetch();
  };

  const test = async (channel: AlertChannelFieldsFragment) => {
    setTests((t) => ({ ...t, [channel.id]: { busy: true } }));
    const res = await sendTest({ channelId: channel.id });
    const answer = res.data?.sendTestNotification;
    const next = res.error
      ? { busy: false, ok: false, text: errorText(res.error) }
      : { busy: false, ok: Boolean(answer?.ok), text: answer?.ok ? "Delivered" : (answer?.error ?? "Not delivered") };
    setTests((t) => ({ ...t, [channel.id]: next }));
  };

  const remove = async () => {
    if (!confirm) return;
    const res = await deleteChannel({ id: confirm.id });
    setConfirm(null);
    if (res.error) toast(errorText(res.error), "error");
    else {
      toast("Channel deleted");
      refetch();
    }
  };

  const general = unplacedErrors(errors, (key) => ["name", "address", "url", "kind", "shared"].includes(key));
  return (
    <div className="card">
      <div className="card-header">
        <h2>Channels</h2>
        <span className="hint">Your own{isAdmin ? "; shared ones are usable by everyone" : " and the shared ones"}.</span>
      </div>
      <form className="card-body" onSubmit={submit} noValidate aria-label="Add a channel">
        <ErrorList messages={general} />
        <div className="field">
          <span className="field-label">Kind</span>
          <Segmented<ChannelKind>
            label="Channel kind"
            value={form.kind}
            onChange={(value) => set({ kind: value, target: "" })}
            options={CHANNEL_KINDS.map((k) => ({ value: k.value, label: k.label }))}
          />
        </div>
        <div className="field-row" style={{ gridTemplateColumns: "repeat(auto-fit, minmax(200px, 1fr))", marginTop: 16 }}>
          <Field label="Name" error={errors.fields.name}>
            {(p) => <input {...p} className="input" placeholder="e.g. ops on-call" value={form.name} onChange={(e) => set({ name: e.target.value })} />}
          </Field>
          <Field label={kind.target} error={errors.fields[field]} hint={kind.hint}>
            {(p) => (
              <input
                {...p}
                className="input mono"
                type={form.kind === "EMAIL" ? "email" : "url"}
                placeholder={kind.placeholder}
                value={form.target}
                onChange={(e) => set({ target: e.target.value })}
              />
            )}
          </Field>
        </div>
        <div className="row" style={{ marginTop: 16, justifyContent: "space-between", flexWrap: "wrap" }}>
          {isAdmin ? <Switch checked={form.shared} onChange={(shared) => set({ shared })} label="Shared: every user's rules may use it" /> : <span />}
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? <Spinner /> : null} Add channel
          </button>
        </div>
        {created ? (
          <SecretOnce
            title={`Signing secret of "${created.name}": copy it now, it will not be shown again`}
            secret={created.secret}
            testId="signing-secret"
            onDone={() => setCreated(null)}
          >
            <p className="small">The receiver checks X-Dts-Signature with it (see docs/alerting.md).</p>
          </SecretOnce>
        ) : null}
      </form>
      {channels.length === 0 ? (
        <EmptyState title="No channels">Add one above: alerts go nowhere until a rule names a channel.</EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table stacked" aria-label="Channels">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Sends to</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {channels.map((c) => {
                const mine = c.ownerId === user.id;
                const result = tests[c.id];
                return (
                  <tr key={c.id} data-channel={c.name}>
                    <td className="wide">
                      <strong>{c.name}</strong>
                      <div className="sub">{channelOwnership(c, user.id)}</div>
                    </td>
                    <td data-label="Kind">
                      <span className="tag">{kindLabel(c.kind)}</span>
                    </td>
                    <td className="mono small" data-label="Sends to" style={{ overflowWrap: "anywhere" }}>
                      {c.address ?? c.url}
                    </td>
                    <td className="nowrap" data-label="Created">
                      <RelativeTime iso={c.createdAt} />
                    </td>
                    <td className="num">
                      <div className="row" style={{ justifyContent: "flex-end", flexWrap: "wrap" }}>
                        <button type="button" className="btn btn-sm" disabled={result?.busy} onClick={() => void test(c)}>
                          {result?.busy ? <Spinner /> : null} Send test
                        </button>
                        {mine || isAdmin ? (
                          <button type="button" className="btn btn-sm btn-danger" onClick={() => setConfirm(c)}>
                            Delete
                          </button>
                        ) : null}
                      </div>
                      {result && !result.busy ? (
                        <span className={`test-result small ${result.ok ? "field-ok" : "field-error"}`} role="status" data-testid="test-result">
                          {result.ok ? "✓ " : ""}
                          {result.text}
                        </span>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {confirm ? (
        <ConfirmDialog
          title={`Delete "${confirm.name}"?`}
          confirmLabel="Delete channel"
          danger
          busy={removal.fetching}
          onConfirm={() => void remove()}
          onCancel={() => setConfirm(null)}
        >
          <p>Rules that name it stop notifying it, and its undelivered notices are dropped. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function DefaultRulesCard({
  channels,
  rules,
}: {
  channels: AlertChannelFieldsFragment[];
  rules: Parameters<typeof rulesFormFrom>[0];
}) {
  const user = useCurrentUser();
  const toast = useToast();
  const [, save] = useMutation(SetDefaultAlertRulesMutation);
  const [form, setForm] = useState<RulesForm>(() => rulesFormFrom(rules));
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);
  const [busy, setBusy] = useState(false);
  const usable = usableChannels(channels, user.id);
  // A channel deleted elsewhere leaves the rule: keep the form's ticks to existing channels.
  useEffect(() => {
    setForm((f) => ({ ...f, channelIds: f.channelIds.filter((id) => channels.some((c) => c.id === id)) }));
  }, [channels]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found = validateRules(form);
    if (Object.keys(found).length) {
      setErrors({ fields: found, general: [], code: null });
      return;
    }
    setErrors(EMPTY);
    setBusy(true);
    const res = await save({ rules: toRulesInput(form) });
    setBusy(false);
    if (res.error) setErrors(errorReport(res.error, "rules"));
    else toast("Default rules saved");
  };

  return (
    <form className="card" onSubmit={submit} noValidate aria-label="Default rules">
      <div className="card-header">
        <h2>Default rules</h2>
        <span className="hint">For every job and monitor of yours without its own rules.</span>
      </div>
      <div className="card-body">
        {rules === null ? (
          <p className="muted small" style={{ marginBottom: 12 }}>
            Not set yet: your jobs without their own rules notify nobody.
          </p>
        ) : null}
        <ErrorList messages={unplacedErrors(errors, (key) => RULE_FIELDS.includes(key))} />
        <AlertRulesEditor value={form} onChange={(next) => { setForm(next); setErrors(EMPTY); }} channels={usable} errors={errors.fields} disabled={user.role === "VIEWER"} />
        <div className="row" style={{ marginTop: 20, justifyContent: "flex-end", flexWrap: "wrap" }}>
          <button type="button" className="btn" onClick={() => setForm(emptyRules())}>
            Reset
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || user.role === "VIEWER"}>
            {busy ? <Spinner /> : null} Save default rules
          </button>
        </div>
      </div>
    </form>
  );
}
