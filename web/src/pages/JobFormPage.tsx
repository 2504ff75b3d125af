// Create or edit a job: the request or command, the schedule with live validation and the
// inspector, and the retry, timeout, concurrency and misfire policies.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { errorReport, unplacedErrors, type ErrorReport } from "../api/errors";
import { CreateJobMutation, JobForEditQuery, JobsNamedQuery, UpdateJobMutation } from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { EditFormActions, EditFormHeader } from "../components/EditForm";
import { HeaderEditor } from "../components/HeaderEditor";
import { NotificationsSection, useNotifications } from "../components/Notifications";
import { AlertIcon, GlobeIcon, TerminalIcon } from "../components/icons";
import { DstSummary, OccurrenceTable, TimezoneSelect, useSchedulePreview } from "../components/Inspector";
import { ArgsEditor, EnvEditor } from "../components/ListEditors";
import {
  Banner,
  EmptyState,
  ErrorState,
  Field,
  PageLoading,
  Segmented,
  Spinner,
  Switch,
  useToast,
} from "../components/ui";
import type { ConcurrencyPolicy, JobEditFieldsFragment, MisfirePolicy } from "../gql/graphql";
import { viewerZone } from "../lib/format";
import { remapIndexedErrors, sentHeaderRows } from "../lib/headers";
import { useDebounced, useDocumentTitle } from "../lib/hooks";
import {
  CONCURRENCY_HELP,
  HTTP_METHODS,
  MISFIRE_HELP,
  emptyForm,
  formFromJob,
  formShowsError,
  formatJsonBody,
  jsonBodyError,
  defaultRetry,
  duplicateName,
  isDefaultRetry,
  retryHelp,
  timeoutHelp,
  toJobInput,
  validateForm,
  type JobFormState,
  type NamedJob,
} from "../lib/jobForm";
import { cronFeedback } from "../lib/schedule";
import { Link, useRouter } from "../router";

const PRESETS: { label: string; cron: string }[] = [
  { label: "Every 5 minutes", cron: "*/5 * * * *" },
  { label: "Hourly", cron: "0 * * * *" },
  { label: "Daily 02:30", cron: "30 2 * * *" },
  { label: "Weekdays 09:00", cron: "0 9 * * 1-5" },
  { label: "Monthly", cron: "0 6 1 * *" },
];

const EMPTY_REPORT: ErrorReport = { fields: {}, general: [], code: null };

export function NewJobPage() {
  useDocumentTitle("New job");
  const { location } = useRouter();
  // The inspector's "New job with this schedule" passes ?cron=…&timezone=….
  const cron = location.search.get("cron");
  const timezone = location.search.get("timezone");
  const initial = useMemo(() => {
    const form = emptyForm(timezone || viewerZone());
    return cron ? { ...form, cron } : form;
  }, [cron, timezone]);
  return <JobForm initial={initial} />;
}

export function EditJobPage({ id }: { id: string }) {
  const [result, reexecute] = useQuery({ query: JobForEditQuery, variables: { id }, requestPolicy: "network-only" });
  useDocumentTitle(result.data?.job ? `Edit ${result.data.job.name}` : "Edit job");
  if (result.fetching && !result.data) return <PageLoading label="Loading the job…" />;
  if (result.error) return <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />;
  const job = result.data?.job;
  if (!job) {
    return (
      <div className="card">
        <EmptyState title="Job not found" action={<Link to="/jobs" className="btn">Back to jobs</Link>}>
          It was deleted, or it belongs to someone else.
        </EmptyState>
      </div>
    );
  }
  return <JobForm initial={formFromJob(job)} job={job} />;
}

function JobForm({ initial, job }: { initial: JobFormState; job?: JobEditFieldsFragment }) {
  const user = useCurrentUser();
  const { navigate } = useRouter();
  const toast = useToast();
  const viewer = viewerZone();
  const [form, setForm] = useState<JobFormState>(initial);
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const [server, setServer] = useState<ErrorReport>(EMPTY_REPORT);
  const [submitted, setSubmitted] = useState(false);
  const [count, setCount] = useState(10);
  const [from, setFrom] = useState("");
  const [, createJob] = useMutation(CreateJobMutation);
  const [, updateJob] = useMutation(UpdateJobMutation);
  const [saving, setSaving] = useState(false);
  const editing = Boolean(job);
  const isAdmin = user.role === "ADMIN";
  const scriptLocked = form.type === "SCRIPT" && !isAdmin;
  const readOnly = user.role === "VIEWER";

  const notify = useNotifications("job", job?.id);
  const duplicate = useDuplicateName(form.name, user.id, job?.id);
  const preview = useSchedulePreview(form.cron, form.timezone, count, from ? `${from}T00:00:00Z` : null, viewer);
  const feedback = cronFeedback(form.cron, form.timezone, preview);

  // Re-check on every change once the user tried to save, so errors clear as they are fixed.
  useEffect(() => {
    if (submitted) setClientErrors(validateForm(form));
  }, [form, submitted]);

  // Editing a field clears the server's message about it (the next save checks again).
  // A path forgets itself and what is under it; the section ("http") only its own message.
  const forget = (section: string | null, ...paths: string[]) =>
    setServer((s) => {
      const under = (key: string, p: string) => key === p || key.startsWith(`${p}.`) || key.startsWith(`${p}[`);
      const kept = Object.entries(s.fields).filter(([key]) => key !== section && !paths.some((p) => under(key, p)));
      return kept.length === Object.keys(s.fields).length ? s : { ...s, fields: Object.fromEntries(kept) };
    });
  const SERVER_KEYS: Partial<Record<keyof JobFormState, string[]>> = {
    cron: ["schedule.cron", "schedule"],
    timezone: ["schedule.timezone", "timezone"],
  };
  const set = <K extends keyof JobFormState>(key: K, value: JobFormState[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    forget(null, ...(SERVER_KEYS[key] ?? [String(key)]));
  };
  const setHttp = (patch: Partial<JobFormState["http"]>) => {
    setForm((f) => ({ ...f, http: { ...f.http, ...patch } }));
    forget("http", ...Object.keys(patch).map((k) => `http.${k}`));
  };
  const setScript = (patch: Partial<JobFormState["script"]>) => {
    setForm((f) => ({ ...f, script: { ...f.script, ...patch } }));
    forget("script", ...Object.keys(patch).map((k) => `script.${k}`));
  };
  const setRetry = (patch: Partial<JobFormState["retry"]>) => {
    setForm((f) => ({ ...f, retry: { ...f.retry, ...patch } }));
    forget("retry", ...Object.keys(patch).map((k) => `retry.${k}`));
  };

  const errors: Record<string, string> = { ...server.fields, ...clientErrors };
  const err = (...keys: string[]) => keys.map((k) => errors[k]).find(Boolean) ?? null;
  const banner = unplacedErrors(server, formShowsError);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    const found = validateForm(form);
    setClientErrors(found);
    setServer(EMPTY_REPORT);
    const rulesOk = notify.check();
    if (Object.keys(found).length > 0 || !rulesOk) {
      focusFirstError();
      return;
    }
    setSaving(true);
    const input = toJobInput(form, { editing });
    const result = job ? await updateJob({ id: job.id, input }) : await createJob({ input });
    setSaving(false);
    if (result.error) {
      const report = errorReport(result.error);
      report.fields = remapIndexedErrors(report.fields, "http.headers", sentHeaderRows(form.http.headers));
      setServer(report);
      focusFirstError();
      return;
    }
    const id = job ? job.id : (result.data as { createJob?: { id: string } } | undefined)?.createJob?.id;
    const rulesFailed = id ? await notify.save(id) : null;
    if (rulesFailed) {
      // The job is saved; its rules are not: stay (or go) where they can be fixed.
      toast(`${job ? "Job saved" : "Job created"}, but not its notification rules: ${rulesFailed}`, "error");
      if (!job && id) navigate(`/jobs/${id}/edit#notifications`);
      else focusFirstError();
      return;
    }
    toast(job ? "Job saved" : "Job created");
    navigate(id ? `/jobs/${id}` : "/jobs");
  };

  const subject = { noun: "job", listPath: "/jobs", listLabel: "Jobs", item: job ?? null };

  return (
    <form onSubmit={submit} noValidate aria-label={editing ? "Edit job" : "New job"}>
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
            </header>
            {!editing ? (
              <div className="field">
                <span className="field-label" id="type-label">
                  Type
                </span>
                <Segmented
                  label="Job type"
                  value={form.type}
                  onChange={(type) => set("type", type)}
                  options={[
                    { value: "HTTP", label: <span className="row"><GlobeIcon /> HTTP request</span> },
                    {
                      value: "SCRIPT",
                      label: <span className="row"><TerminalIcon /> Script</span>,
                      disabled: !isAdmin,
                      title: isAdmin ? "Run a command on a worker host" : "Only admins can create script jobs",
                    },
                  ]}
                />
                {!isAdmin ? <div className="hint">Script jobs run commands on worker hosts, so only admins can create them.</div> : null}
                {errors.type ? <div className="field-error" role="alert">{errors.type}</div> : null}
              </div>
            ) : null}
            <Field label="Name" error={err("name")} hint={duplicate ? <DuplicateNameWarning job={duplicate} mine={duplicate.ownerId === user.id} /> : undefined}>
              {(p) => <input {...p} className="input" value={form.name} placeholder="e.g. nightly-report" onChange={(e) => set("name", e.target.value)} />}
            </Field>
            <Field label="Description" error={err("description")} hint="Optional. What the job is for, who to ask about it.">
              {(p) => <input {...p} className="input" value={form.description} onChange={(e) => set("description", e.target.value)} />}
            </Field>
            {!editing ? (
              <div className="field">
                <Switch checked={form.paused} onChange={(paused) => set("paused", paused)} label="Create paused (no runs until you resume it)" />
              </div>
            ) : null}
          </section>

          {form.type === "HTTP" ? (
            <section className="form-section">
              <header>
                <h2>Request</h2>
                <p>Any status in 200–299 counts as success. Each attempt carries Idempotency-Key and X-DTS-Attempt headers.</p>
              </header>
              <div className="field-row" style={{ gridTemplateColumns: "120px minmax(0,1fr)" }}>
                <Field label="Method" error={err("http.method")}>
                  {(p) => (
                    <select {...p} className="select" value={form.http.method} onChange={(e) => setHttp({ method: e.target.value })}>
                      {HTTP_METHODS.map((m) => (
                        <option key={m}>{m}</option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field label="URL" error={err("http.url", "http")}>
                  {(p) => (
                    <input
                      {...p}
                      className="input mono"
                      type="url"
                      inputMode="url"
                      placeholder="https://example.com/hooks/nightly"
                      value={form.http.url}
                      onChange={(e) => setHttp({ url: e.target.value })}
                    />
                  )}
                </Field>
              </div>
              <div className="field">
                <span className="field-label">Headers</span>
                <HeaderEditor rows={form.http.headers} onChange={(headers) => setHttp({ headers })} errors={errors} />
              </div>
              <BodyField form={form} setHttp={setHttp} error={err("http.body")} />
            </section>
          ) : (
            <section className="form-section">
              <header>
                <h2>Command</h2>
                <p>Runs on a worker host without a shell; stdout and stderr become the run's live log. A non-zero exit code is a failure.</p>
              </header>
              {scriptLocked ? (
                <Banner tone="warn" title="Only admins can change script jobs">
                  You can read this job, but saving it needs an admin.
                </Banner>
              ) : null}
              <Field label="Command" error={err("script.command", "script")} hint="The program to run, e.g. python3 or node.">
                {(p) => (
                  <input {...p} className="input mono" placeholder="python3" value={form.script.command} onChange={(e) => setScript({ command: e.target.value })} />
                )}
              </Field>
              <div className="field">
                <span className="field-label">Arguments</span>
                <ArgsEditor rows={form.script.args} onChange={(args) => setScript({ args })} errors={errors} />
              </div>
              <Field label="Working directory" error={err("script.cwd")} hint="Relative to the server's script root (DTS_SCRIPT_ROOT).">
                {(p) => <input {...p} className="input mono" value={form.script.cwd} onChange={(e) => setScript({ cwd: e.target.value })} />}
              </Field>
              <div className="field">
                <span className="field-label">Environment</span>
                <EnvEditor rows={form.script.env} onChange={(env) => setScript({ env })} errors={errors} />
              </div>
            </section>
          )}

          <section className="form-section">
            <header>
              <h2>Schedule</h2>
              <p>Standard cron: minute hour day-of-month month day-of-week (a leading seconds field, @daily, L, W and # work too).</p>
            </header>
            <div className="field-row" style={{ gridTemplateColumns: "minmax(0,3fr) minmax(0,2fr)" }}>
              <Field
                label="Cron expression"
                error={err("schedule.cron", "schedule") ?? feedback.cronError}
                hint={<CronHint state={feedback.state} description={feedback.description} />}
              >
                {(p) => (
                  <input
                    {...p}
                    className="input cron-input"
                    spellCheck={false}
                    autoComplete="off"
                    placeholder="*/5 * * * *"
                    value={form.cron}
                    onChange={(e) => set("cron", e.target.value)}
                  />
                )}
              </Field>
              <Field label="Timezone" error={err("schedule.timezone", "timezone") ?? feedback.timezoneError} hint="Cron times are read in this zone, DST included.">
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
                    Inspector
                    {feedback.state === "checking" ? <Spinner label="Checking the schedule" /> : null}
                  </div>
                  <div className="schedule-words" data-testid="schedule-description">
                    {feedback.description ?? (feedback.state === "invalid" ? "Not a valid schedule yet" : feedback.state === "empty" ? "Type a cron expression" : "…")}
                  </div>
                  <div className="muted small">
                    in {form.timezone}
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
                  <label className="inline-field">
                    <span>Show</span>
                    <select className="select select-sm" aria-label="How many runs to preview" value={count} onChange={(e) => setCount(Number(e.target.value))}>
                      {[5, 10, 20, 50].map((n) => (
                        <option key={n} value={n}>
                          next {n}
                        </option>
                      ))}
                    </select>
                  </label>
                </div>
              </div>
              {feedback.otherError ? <div className="field-error" role="alert">{feedback.otherError}</div> : null}
              {feedback.state === "valid" && feedback.occurrences.length > 0 ? (
                <OccurrenceTable occurrences={feedback.occurrences} timezone={form.timezone} viewer={viewer} />
              ) : feedback.state === "valid" ? (
                <p className="inspector-empty">This expression has no future occurrence: the job would never run.</p>
              ) : feedback.state === "invalid" ? (
                <p className="inspector-empty">Fix the schedule above to see when it runs.</p>
              ) : (
                <p className="inspector-empty">The next runs appear here as you type.</p>
              )}
            </div>
          </section>

          <section className="form-section">
            <header>
              <h2>Policies</h2>
              <p>The defaults suit most jobs.</p>
            </header>
            <div className="field-row">
              <Field label="Max attempts" error={err("retry.maxAttempts")}>
                {(p) => <input {...p} className="input" inputMode="numeric" value={form.retry.maxAttempts} onChange={(e) => setRetry({ maxAttempts: e.target.value })} />}
              </Field>
              <Field label="First retry after (s)" error={err("retry.initialDelay")}>
                {(p) => <input {...p} className="input" inputMode="decimal" value={form.retry.initialDelay} onChange={(e) => setRetry({ initialDelay: e.target.value })} />}
              </Field>
              <Field label="Longest wait (s)" error={err("retry.maxDelay")}>
                {(p) => <input {...p} className="input" inputMode="decimal" value={form.retry.maxDelay} onChange={(e) => setRetry({ maxDelay: e.target.value })} />}
              </Field>
              <Field label="Multiplier" error={err("retry.multiplier")}>
                {(p) => <input {...p} className="input" inputMode="decimal" value={form.retry.multiplier} onChange={(e) => setRetry({ multiplier: e.target.value })} />}
              </Field>
            </div>
            <p className="hint muted small" style={{ marginTop: 8 }}>
              <span data-testid="retry-help">{retryHelp(form.retry)}</span>{" "}
              {isDefaultRetry(form.retry) ? (
                <span data-testid="retry-default">This is the default.</span>
              ) : (
                <button type="button" className="text-button" onClick={() => setRetry(defaultRetry())}>
                  Use the default ({retryHelp(defaultRetry()).replace(/^Retries /, "retries ").replace(/\.$/, "")})
                </button>
              )}{" "}
              Each wait is at most the one shown, randomised so jobs that fail together do not retry together. Retried on
              timeouts, connection errors, 5xx, 429 and non-zero exits.
            </p>
            <div className="field-row" style={{ marginTop: 16 }}>
              <Field label="Timeout (s)" error={err("timeoutSeconds")} hint={timeoutHelp(form.timeoutSeconds)}>
                {(p) => <input {...p} className="input" inputMode="decimal" value={form.timeoutSeconds} onChange={(e) => set("timeoutSeconds", e.target.value)} />}
              </Field>
              <Field label="If the last run is still going" error={err("concurrency")} hint={CONCURRENCY_HELP[form.concurrency]}>
                {(p) => (
                  <select {...p} className="select" value={form.concurrency} onChange={(e) => set("concurrency", e.target.value as ConcurrencyPolicy)}>
                    <option value="ALLOW">Allow overlap</option>
                    <option value="FORBID">Skip the new run</option>
                    <option value="REPLACE">Replace the running one</option>
                  </select>
                )}
              </Field>
              <Field label="Missed runs" error={err("misfire", "misfireLimit")} hint={MISFIRE_HELP[form.misfire]}>
                {(p) => (
                  <select {...p} className="select" value={form.misfire} onChange={(e) => set("misfire", e.target.value as MisfirePolicy)}>
                    <option value="COALESCE">Run once to catch up</option>
                    <option value="ALL">Run each one</option>
                    <option value="SKIP">Skip them</option>
                  </select>
                )}
              </Field>
            </div>
          </section>

          <NotificationsSection notify={notify} disabled={readOnly} />

          <EditFormActions subject={subject} saving={saving} disabled={scriptLocked || readOnly} />
        </div>

      </div>
    </form>
  );
}

/** Another job with the name being typed (asked 300 ms after typing stops), or null. */
function useDuplicateName(name: string, userId: string, self?: string): NamedJob | null {
  const search = useDebounced(name.trim(), 300);
  const [result] = useQuery({ query: JobsNamedQuery, variables: { search }, pause: !search, requestPolicy: "network-only" });
  if (!search || search !== name.trim() || !result.data) return null;
  return duplicateName(search, result.data.jobs.edges.map((e) => e.node), userId, self);
}

function DuplicateNameWarning({ job, mine }: { job: NamedJob; mine: boolean }) {
  return (
    <span className="field-warning" data-testid="duplicate-name">
      <AlertIcon size={14} style={{ flex: "none", marginTop: 2 }} />
      <span>
        {mine ? "You already have a job named " : "A job named "}“{job.name}”{mine ? "" : " already exists"} (
        <Link to={`/jobs/${job.id}`} target="_blank" rel="noreferrer">
          open it
        </Link>
        ). You can still save: names need not be unique, but a distinct one is easier to tell apart in lists and alerts.
      </span>
    </span>
  );
}

function CronHint({ state, description }: { state: string; description: string | null }) {
  if (state === "valid" && description) return <span className="field-ok">✓ {description}</span>;
  if (state === "checking") return <span>Checking…</span>;
  return <span>e.g. 30 2 * * * is 02:30 every day.</span>;
}

function BodyField({
  form,
  setHttp,
  error,
}: {
  form: JobFormState;
  setHttp: (patch: Partial<JobFormState["http"]>) => void;
  error: string | null;
}) {
  const liveError = form.http.bodyIsJson ? jsonBodyError(form.http.body) : null;
  const bodyless = form.http.method === "GET" || form.http.method === "HEAD";
  return (
    <Field
      label="Body"
      aside={
        <span className="row" style={{ gap: 12 }}>
          {form.http.bodyIsJson && form.http.body.trim() && !liveError ? (
            <button type="button" className="btn btn-sm btn-ghost" onClick={() => setHttp({ body: formatJsonBody(form.http.body) })}>
              Format
            </button>
          ) : null}
          <Switch checked={form.http.bodyIsJson} onChange={(bodyIsJson) => setHttp({ bodyIsJson })} label="JSON body" />
        </span>
      }
      error={error ?? liveError}
      hint={
        form.http.bodyIsJson
          ? "Checked as you type; sent with Content-Type: application/json."
          : bodyless
            ? "Usually empty for GET and HEAD."
            : "Sent as is. Turn on JSON to validate it and send it as JSON."
      }
    >
      {(p) => (
        <textarea
          {...p}
          className="textarea"
          rows={form.http.body ? 6 : 3}
          spellCheck={false}
          placeholder={form.http.bodyIsJson ? '{"report": "nightly"}' : ""}
          value={form.http.body}
          onChange={(e) => setHttp({ body: e.target.value })}
        />
      )}
    </Field>
  );
}

function focusFirstError() {
  requestAnimationFrame(() => {
    const target = document.querySelector<HTMLElement>('[aria-invalid="true"], .banner-error');
    target?.scrollIntoView({ block: "center", behavior: "smooth" });
    if (target && "focus" in target) target.focus({ preventScroll: true });
  });
}
