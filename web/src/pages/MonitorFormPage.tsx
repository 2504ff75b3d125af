// Create or edit a heartbeat monitor: name, when pings are expected (cron in a zone, with
// the inspector's DST-aware preview, or a period), grace, the expected duration, and who is
// notified (the owner's default rules or the monitor's own).
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { errorReport, unplacedErrors, type ErrorReport } from "../api/errors";
import { CreateMonitorMutation, MonitorForEditQuery, UpdateMonitorMutation } from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { DstSummary, OccurrenceTable, TimezoneSelect, useSchedulePreview } from "../components/Inspector";
import { EditFormActions, EditFormHeader } from "../components/EditForm";
import { NotificationsSection, useNotifications } from "../components/Notifications";
import {
  EmptyState,
  ErrorState,
  Field,
  PageLoading,
  Segmented,
  Spinner,
  focusFirstError,
  useToast,
} from "../components/ui";
import { viewerZone } from "../lib/format";
import { useDocumentTitle } from "../lib/hooks";
import {
  MONITOR_FORM_FIELDS,
  UNIT_LABEL,
  emptyMonitorForm,
  formFromMonitor,
  formatInterval,
  durationSeconds,
  toMonitorInput,
  validateMonitorForm,
  type DurationUnit,
  type DurationValue,
  type MonitorFormState,
} from "../lib/monitors";
import { cronFeedback } from "../lib/schedule";
import { Link, useRouter } from "../router";

const EMPTY_REPORT: ErrorReport = { fields: {}, general: [], code: null };

const PRESETS: { label: string; cron: string }[] = [
  { label: "Every 5 minutes", cron: "*/5 * * * *" },
  { label: "Hourly", cron: "0 * * * *" },
  { label: "Daily 02:30", cron: "30 2 * * *" },
  { label: "Weekdays 09:00", cron: "0 9 * * 1-5" },
];

export function NewMonitorPage() {
  useDocumentTitle("New monitor");
  const [initial] = useState(() => emptyMonitorForm(viewerZone()));
  return <MonitorForm initial={initial} />;
}

export function EditMonitorPage({ id }: { id: string }) {
  const [result, reexecute] = useQuery({ query: MonitorForEditQuery, variables: { id }, requestPolicy: "network-only" });
  useDocumentTitle(result.data?.monitor ? `Edit ${result.data.monitor.name}` : "Edit monitor");
  if (result.fetching && !result.data) return <PageLoading label="Loading the monitor…" />;
  if (result.error) return <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />;
  const monitor = result.data?.monitor;
  if (!monitor) {
    return (
      <div className="card">
        <EmptyState title="Monitor not found" action={<Link to="/monitors" className="btn">Back to monitors</Link>}>
          It was deleted, or it belongs to someone else.
        </EmptyState>
      </div>
    );
  }
  return <MonitorForm initial={formFromMonitor(monitor)} monitor={{ id: monitor.id, name: monitor.name }} />;
}

function DurationInput({
  value,
  onChange,
  field,
  placeholder,
  label,
}: {
  value: DurationValue;
  onChange: (value: DurationValue) => void;
  field: { id: string; "aria-invalid": boolean; "aria-describedby"?: string };
  placeholder?: string;
  label: string;
}) {
  return (
    <div className="row" style={{ flexWrap: "nowrap" }}>
      <input
        {...field}
        className="input"
        inputMode="decimal"
        placeholder={placeholder}
        value={value.amount}
        onChange={(e) => onChange({ ...value, amount: e.target.value })}
      />
      <select
        className="select"
        style={{ width: "auto" }}
        aria-label={`${label}: unit`}
        value={value.unit}
        onChange={(e) => onChange({ ...value, unit: e.target.value as DurationUnit })}
      >
        {(Object.keys(UNIT_LABEL) as DurationUnit[]).map((unit) => (
          <option key={unit} value={unit}>
            {UNIT_LABEL[unit]}
          </option>
        ))}
      </select>
    </div>
  );
}

function MonitorForm({ initial, monitor }: { initial: MonitorFormState; monitor?: { id: string; name: string } }) {
  const user = useCurrentUser();
  const { navigate } = useRouter();
  const toast = useToast();
  const viewer = viewerZone();
  const [form, setForm] = useState<MonitorFormState>(initial);
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [server, setServer] = useState<ErrorReport>(EMPTY_REPORT);
  const [submitted, setSubmitted] = useState(false);
  const [saving, setSaving] = useState(false);
  const [from, setFrom] = useState("");
  const [, createMonitor] = useMutation(CreateMonitorMutation);
  const [, updateMonitor] = useMutation(UpdateMonitorMutation);
  const notify = useNotifications("monitor", monitor?.id);
  const readOnly = user.role === "VIEWER";
  const isCron = form.kind === "cron";

  const preview = useSchedulePreview(isCron ? form.cron : "", form.timezone, 5, from ? `${from}T00:00:00Z` : null, viewer);
  const feedback = cronFeedback(isCron ? form.cron : "", form.timezone, preview);

  useEffect(() => {
    if (submitted) setClientErrors(validateMonitorForm(form));
  }, [form, submitted]);

  const set = <K extends keyof MonitorFormState>(key: K, value: MonitorFormState[K], ...apiFields: string[]) => {
    setForm((f) => ({ ...f, [key]: value }));
    const forget = apiFields.length ? apiFields : [String(key)];
    setServer((s) => ({ ...s, fields: Object.fromEntries(Object.entries(s.fields).filter(([k]) => !forget.includes(k))) }));
  };

  const errors: Record<string, string> = { ...server.fields, ...clientErrors };
  const banner = unplacedErrors(server, (key) => MONITOR_FORM_FIELDS.includes(key));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    const found = validateMonitorForm(form);
    setClientErrors(found);
    setServer(EMPTY_REPORT);
    const rulesOk = notify.check();
    if (Object.keys(found).length > 0 || !rulesOk) {
      focusFirstError();
      return;
    }
    setSaving(true);
    const input = toMonitorInput(form);
    const result = monitor ? await updateMonitor({ id: monitor.id, input }) : await createMonitor({ input });
    setSaving(false);
    if (result.error) {
      setServer(errorReport(result.error));
      focusFirstError();
      return;
    }
    const id = monitor ? monitor.id : (result.data as { createMonitor?: { id: string } } | undefined)?.createMonitor?.id;
    const rulesFailed = id ? await notify.save(id) : null;
    if (rulesFailed) {
      // The monitor is saved; its rules are not: stay (or go) where they can be fixed.
      toast(`${monitor ? "Monitor saved" : "Monitor created"}, but not its notification rules: ${rulesFailed}`, "error");
      if (!monitor && id) navigate(`/monitors/${id}/edit#notifications`);
      else focusFirstError();
      return;
    }
    toast(monitor ? "Monitor saved" : "Monitor created: give its ping URL to the job");
    navigate(id ? `/monitors/${id}` : "/monitors");
  };

  const grace = durationSeconds(form.grace);
  const longest = durationSeconds(form.maxDuration);

  const subject = { noun: "monitor", listPath: "/monitors", listLabel: "Monitors", item: monitor ?? null };

  return (
    <form onSubmit={submit} noValidate aria-label={monitor ? "Edit monitor" : "New monitor"}>
      <EditFormHeader
        subject={subject}
        readOnly={readOnly}
        banner={banner}
        fieldErrors={submitted && Object.keys(errors).length > 0}
      />

      <div className="form-layout">
        <div className="card">
          <section className="form-section">
            <header>
              <h2>Basics</h2>
              <p>A monitor watches a job dts does not run: the job pings a secret URL, dts notices when the ping does not come.</p>
            </header>
            <Field label="Name" error={errors.name}>
              {(p) => <input {...p} className="input" value={form.name} placeholder="e.g. nightly backup on db-2" onChange={(e) => set("name", e.target.value)} />}
            </Field>
          </section>

          <section className="form-section">
            <header>
              <h2>When pings are expected</h2>
              <p>
                On a cron schedule in a zone (DST included, like jobs), or every so often counted from the last ping.
              </p>
            </header>
            <div className="field">
              <span className="field-label">Schedule</span>
              <Segmented
                label="Schedule kind"
                value={form.kind}
                onChange={(kind) => set("kind", kind, "cron", "periodSeconds")}
                options={[
                  { value: "cron", label: "Cron schedule" },
                  { value: "period", label: "Every period" },
                ]}
              />
            </div>
            {isCron ? (
              <>
                <div className="field-row" style={{ gridTemplateColumns: "minmax(0,3fr) minmax(0,2fr)" }}>
                  <Field
                    label="Cron expression"
                    error={errors.cron ?? feedback.cronError}
                    hint={feedback.state === "valid" && feedback.description ? <span className="field-ok">✓ {feedback.description}</span> : "e.g. 30 2 * * * is 02:30 every day."}
                  >
                    {(p) => (
                      <input
                        {...p}
                        className="input cron-input"
                        spellCheck={false}
                        autoComplete="off"
                        placeholder="30 2 * * *"
                        value={form.cron}
                        onChange={(e) => set("cron", e.target.value)}
                      />
                    )}
                  </Field>
                  <Field label="Timezone" error={errors.timezone ?? feedback.timezoneError} hint="The cron times are read in this zone.">
                    {(p) => (
                      <TimezoneSelect
                        id={p.id}
                        invalid={p["aria-invalid"]}
                        describedBy={p["aria-describedby"]}
                        value={form.timezone}
                        viewer={viewer}
                        onChange={(timezone) => set("timezone", timezone)}
                      />
                    )}
                  </Field>
                </div>
                <div className="row" style={{ marginTop: 10 }}>
                  {PRESETS.map((preset) => (
                    <button key={preset.cron} type="button" className="btn btn-sm" aria-pressed={form.cron.trim() === preset.cron} onClick={() => set("cron", preset.cron)}>
                      {preset.label}
                    </button>
                  ))}
                </div>
                <div className="inspector" role="region" aria-label="Schedule inspector">
                  <div className="inspector-head">
                    <div>
                      <div className="inspector-title">
                        Expected pings
                        {feedback.state === "checking" ? <Spinner label="Checking the schedule" /> : null}
                      </div>
                      <div className="schedule-words" data-testid="schedule-description">
                        {feedback.description ?? (feedback.state === "invalid" ? "Not a valid schedule yet" : feedback.state === "empty" ? "Type a cron expression" : "…")}
                      </div>
                      <div className="muted small">
                        in {form.timezone}; each ping may come up to {grace !== null && !Number.isNaN(grace) ? formatInterval(grace) : "the grace time"} later
                        {feedback.dstNotes > 0 ? (
                          <>
                            {" · "}
                            <DstSummary occurrences={feedback.occurrences} />
                          </>
                        ) : null}
                      </div>
                    </div>
                    <div className="row inspector-controls">
                      <label className="inline-field">
                        <span>From</span>
                        <input className="input input-sm" type="date" aria-label="Preview from date" value={from} onChange={(e) => setFrom(e.target.value)} />
                      </label>
                    </div>
                  </div>
                  {feedback.otherError ? <div className="field-error" role="alert">{feedback.otherError}</div> : null}
                  {feedback.state === "valid" && feedback.occurrences.length > 0 ? (
                    <OccurrenceTable occurrences={feedback.occurrences} timezone={form.timezone} viewer={viewer} ownLabel="Monitor time" />
                  ) : feedback.state === "valid" ? (
                    <p className="inspector-empty">This expression has no future occurrence: no ping would ever be expected.</p>
                  ) : feedback.state === "invalid" ? (
                    <p className="inspector-empty">Fix the schedule above to see when pings are expected.</p>
                  ) : (
                    <p className="inspector-empty">The next expected pings appear here as you type.</p>
                  )}
                </div>
              </>
            ) : (
              <Field label="Period" error={errors.periodSeconds} hint="A ping is expected this long after the previous one (60 seconds to 366 days).">
                {(p) => <DurationInput label="Period" field={p} value={form.period} onChange={(period) => set("period", period, "periodSeconds")} />}
              </Field>
            )}
          </section>

          <section className="form-section">
            <header>
              <h2>Tolerance</h2>
            </header>
            <div className="field-row">
              <Field label="Grace time" error={errors.graceSeconds} hint="How late a ping may be: late until then, down after.">
                {(p) => <DurationInput label="Grace time" field={p} value={form.grace} onChange={(value) => set("grace", value, "graceSeconds")} />}
              </Field>
              <Field
                label="Expected duration"
                error={errors.maxDurationSeconds}
                hint={
                  longest !== null && !Number.isNaN(longest)
                    ? `A /start not followed by success within ${formatInterval(longest)} is "ran too long".`
                    : "Optional. With /start pings: how long a run may take before it ran too long."
                }
              >
                {(p) => (
                  <DurationInput
                    label="Expected duration"
                    field={p}
                    placeholder="no limit"
                    value={form.maxDuration}
                    onChange={(value) => set("maxDuration", value, "maxDurationSeconds")}
                  />
                )}
              </Field>
            </div>
          </section>

          <NotificationsSection notify={notify} disabled={readOnly} />

          <EditFormActions subject={subject} saving={saving} disabled={readOnly} />
        </div>
      </div>
    </form>
  );
}
