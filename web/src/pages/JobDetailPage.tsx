// One job: its numbers, the duration chart, run history (paged, filtered by status), the
// next runs, and the actions. Kept live by runEvents for this job.
import { useCallback, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { errorText } from "../api/errors";
import {
  DeleteJobMutation,
  JobDetailQuery,
  PauseJobMutation,
  ResumeJobMutation,
  RunEventsSubscription,
  TriggerJobMutation,
} from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { DurationChart } from "../components/charts";
import { AlertsCard } from "../components/Notifications";
import { EditIcon, GlobeIcon, PauseIcon, PlayIcon, TerminalIcon, TrashIcon } from "../components/icons";
import { RunsTable } from "../components/RunsTable";
import { ALL_STATUSES, STATUS_LABEL } from "../components/status";
import { ConfirmDialog, EmptyState, ErrorState, PageLoading, Spinner, useToast } from "../components/ui";
import type { JobDetailQuery as JobDetailData, RunStatus } from "../gql/graphql";
import {
  formatDuration,
  formatInZone,
  formatLocal,
  formatSeconds,
  fromNow,
  pluralize,
  viewerZone,
  wallClock,
  zoneAbbreviation,
} from "../lib/format";
import { useDocumentTitle, useFirst, useNow, useThrottled } from "../lib/hooks";
import { CONCURRENCY_HELP, MISFIRE_HELP } from "../lib/jobForm";
import { Link, useRouter } from "../router";
import { Pager } from "../components/Pager";

const RUNS_PAGE = 20;

type Job = NonNullable<JobDetailData["job"]>;

export function JobDetailPage({ id }: { id: string }) {
  const user = useCurrentUser();
  const { navigate } = useRouter();
  const toast = useToast();
  const now = useNow();
  const viewer = viewerZone();
  const [status, setStatus] = useState<RunStatus | "">("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [confirm, setConfirm] = useState<"delete" | "resume" | null>(null);
  const [catchUp, setCatchUp] = useState(false);
  const after = cursors[cursors.length - 1] ?? null;

  const [result, reexecute] = useQuery({
    query: JobDetailQuery,
    variables: { id, zones: [viewer], first: RUNS_PAGE, after, status: status ? [status] : null },
  });
  const refetch = useThrottled(
    useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]),
    600,
  );
  const position = useFirst(result.data?.feedPosition);
  useSubscription(
    { query: RunEventsSubscription, variables: { jobId: id, afterEventId: position }, pause: position === undefined },
    (_, event) => {
      refetch();
      return event;
    },
  );

  const [trigger, triggerJob] = useMutation(TriggerJobMutation);
  const [pause, pauseJob] = useMutation(PauseJobMutation);
  const [resume, resumeJob] = useMutation(ResumeJobMutation);
  const [removal, deleteJob] = useMutation(DeleteJobMutation);

  const job = result.data?.job;
  useDocumentTitle(job?.name ?? "Job");

  if (result.fetching && !result.data) return <PageLoading label="Loading the job…" />;
  if (result.error && !result.data) return <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />;
  if (!job) {
    return (
      <div className="card">
        <EmptyState title="Job not found" action={<Link to="/jobs" className="btn">Back to jobs</Link>}>
          It was deleted, or it belongs to someone else.
        </EmptyState>
      </div>
    );
  }

  const mayChange =
    user.role !== "VIEWER" && (user.role === "ADMIN" || job.owner?.id === user.id) && (job.type === "HTTP" || user.role === "ADMIN");
  const runs = job.runs.edges.map((e) => e.node);

  const onTrigger = async () => {
    const res = await triggerJob({ id: job.id });
    if (res.error) toast(errorText(res.error), "error");
    else if (res.data?.triggerJob.status === "SKIPPED") toast("Skipped: a run is still going and the job forbids overlap", "error");
    else toast("Run queued");
    refetch();
  };
  const onPause = async () => {
    const res = await pauseJob({ id: job.id });
    if (res.error) toast(errorText(res.error), "error");
    else toast("Job paused: no new runs until you resume it");
  };
  const onResume = async () => {
    const res = await resumeJob({ id: job.id, catchUp });
    setConfirm(null);
    if (res.error) toast(errorText(res.error), "error");
    else toast("Job resumed");
  };
  const onDelete = async () => {
    const res = await deleteJob({ id: job.id });
    if (res.error) {
      setConfirm(null);
      toast(errorText(res.error), "error");
      return;
    }
    toast(`Deleted ${job.name}`);
    navigate("/jobs", { replace: true });
  };

  return (
    <>
      <div className="page-header">
        <div style={{ minWidth: 0 }}>
          <div className="breadcrumb">
            <Link to="/jobs">Jobs</Link> /
          </div>
          <div className="row">
            <span className="muted">{job.type === "HTTP" ? <GlobeIcon size={18} /> : <TerminalIcon size={18} />}</span>
            <h1>{job.name}</h1>
            {job.paused ? <span className="badge warn" data-testid="paused-badge">Paused</span> : <span className="badge ok">Active</span>}
          </div>
          <p className="subtitle">
            {job.schedule.description} · <code>{job.schedule.cron}</code> · {job.timezone}
            {job.description ? <> · {job.description}</> : null}
          </p>
        </div>
        {mayChange ? (
          <div className="actions">
            <button type="button" className="btn btn-primary" onClick={onTrigger} disabled={trigger.fetching}>
              {trigger.fetching ? <Spinner /> : <PlayIcon />} Trigger now
            </button>
            {job.paused ? (
              <button type="button" className="btn" onClick={() => setConfirm("resume")} disabled={resume.fetching}>
                <PlayIcon /> Resume
              </button>
            ) : (
              <button type="button" className="btn" onClick={onPause} disabled={pause.fetching}>
                <PauseIcon /> Pause
              </button>
            )}
            <Link to={`/jobs/${job.id}/edit`} className="btn">
              <EditIcon /> Edit
            </Link>
            <button type="button" className="btn btn-danger" onClick={() => setConfirm("delete")}>
              <TrashIcon /> Delete
            </button>
          </div>
        ) : null}
      </div>

      <div className="stats">
        <div className="card stat">
          <div className="label">Success rate</div>
          <div className="value">{job.stats.successRate === null ? "—" : `${Math.round(job.stats.successRate * 100)}%`}</div>
          <div className="sub">
            {job.stats.succeeded} succeeded · {job.stats.failed} failed
          </div>
        </div>
        <div className="card stat">
          <div className="label">Runs</div>
          <div className="value">{job.stats.total}</div>
          <div className="sub">{job.stats.active ? `${job.stats.active} queued or running` : "none active"}</div>
        </div>
        <div className="card stat">
          <div className="label">Next run</div>
          <div className="value" style={{ fontSize: 16 }}>
            {job.paused ? "Paused" : job.nextRunAt ? fromNow(job.nextRunAt, now) : "—"}
          </div>
          <div className="sub">{job.paused || !job.nextRunAt ? "" : formatLocal(job.nextRunAt)}</div>
        </div>
        <div className="card stat">
          <div className="label">Typical duration</div>
          <div className="value">{formatDuration(median(job.stats.recent.map((r) => r.durationSeconds)))}</div>
          <div className="sub">
            {job.stats.recent.length ? `median of the last ${pluralize(job.stats.recent.length, "run")}` : "no finished runs yet"}
          </div>
        </div>
      </div>

      <div className="card" style={{ marginBottom: 16 }}>
        <div className="card-header">
          <h2>Durations</h2>
          <div className="legend">
            <span className="l-ok">succeeded</span>
            <span className="l-bad">failed</span>
            <span>other</span>
          </div>
        </div>
        <div className="card-body">
          {job.stats.recent.length ? (
            <DurationChart points={job.stats.recent} />
          ) : (
            <p className="muted">No finished runs yet. Trigger the job to see how long it takes.</p>
          )}
        </div>
      </div>

      <div className="layout-aside">
        <div className="card">
          <div className="card-header">
            <h2>Runs</h2>
            <select
              className="select select-sm"
              style={{ width: "auto" }}
              aria-label="Filter runs by status"
              value={status}
              onChange={(e) => {
                setStatus(e.target.value as RunStatus | "");
                setCursors([null]);
              }}
            >
              <option value="">All statuses</option>
              {ALL_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {STATUS_LABEL[s]}
                </option>
              ))}
            </select>
          </div>
          {runs.length === 0 && !result.fetching ? (
            <EmptyState title={status ? `No ${STATUS_LABEL[status].toLowerCase()} runs` : "No runs yet"}>
              {status ? "Try another status." : job.paused ? "The job is paused. Trigger it to run it now." : "Runs appear here live as they start."}
            </EmptyState>
          ) : (
            <RunsTable runs={runs} now={now} loading={result.fetching && runs.length === 0} skeletonRows={4} />
          )}
          <Pager page={cursors.length} hasNewer={cursors.length > 1} hasOlder={job.runs.pageInfo.hasNextPage} onNewer={() => setCursors((c) => c.slice(0, -1))} onOlder={() => setCursors((c) => [...c, job.runs.pageInfo.endCursor])} />
        </div>

        <div className="stack">
          <NextRuns job={job} viewer={viewer} />
          <JobSpecCard job={job} />
        </div>
      </div>

      <div style={{ marginTop: 16 }}>
        <AlertsCard subject="job" id={job.id} mayChange={mayChange} refreshKey={runs[0] ? `${runs[0].id}:${runs[0].status}` : ""} />
      </div>

      {confirm === "delete" ? (
        <ConfirmDialog
          title={`Delete ${job.name}?`}
          confirmLabel="Delete job"
          danger
          busy={removal.fetching}
          onConfirm={onDelete}
          onCancel={() => setConfirm(null)}
        >
          <p>The job stops running and its run history and logs are deleted. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
      {confirm === "resume" ? (
        <ConfirmDialog title={`Resume ${job.name}?`} confirmLabel="Resume" busy={resume.fetching} onConfirm={onResume} onCancel={() => setConfirm(null)}>
          <p>The job runs again from its next scheduled time.</p>
          <label className="check" style={{ marginTop: 12 }}>
            <input type="checkbox" checked={catchUp} onChange={(e) => setCatchUp(e.target.checked)} />
            Catch up on runs missed while paused ({MISFIRE_HELP[job.misfire].replace(/^After downtime or a pause, |^After downtime, /, "")})
          </label>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

function median(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (!known.length) return null;
  const mid = Math.floor(known.length / 2);
  const value = known.length % 2 ? known[mid] : ((known[mid - 1] as number) + (known[mid] as number)) / 2;
  return (value as number) * 1000;
}

function NextRuns({ job, viewer }: { job: Job; viewer: string }) {
  return (
    <div className="card">
      <div className="card-header">
        <h2>Next runs</h2>
        <span className="hint">job time · your time</span>
      </div>
      {job.paused ? (
        <div className="card-body muted">Paused: nothing is scheduled until the job is resumed.</div>
      ) : job.nextRuns.length === 0 ? (
        <div className="card-body muted">No future occurrence.</div>
      ) : (
        <ul className="next-runs">
          {job.nextRuns.map((o) => {
            const mine = o.zones.find((z) => z.timezone === viewer);
            return (
              <li key={o.utc} className={o.note ? "dst" : undefined}>
                <div className="occ-when">
                  {wallClock(o.local)} <span className="occ-zone">{o.abbreviation}</span>
                </div>
                {mine && viewer !== job.timezone ? (
                  <div className="sub">
                    {wallClock(mine.local)} {zoneAbbreviation(o.utc, viewer)}
                  </div>
                ) : null}
                {o.note ? <div className="dst-note">{o.note}</div> : null}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

function JobSpecCard({ job }: { job: Job }) {
  return (
    <div className="card">
      <div className="card-header">
        <h2>{job.type === "HTTP" ? "Request" : "Command"}</h2>
      </div>
      <div className="card-body">
        <dl className="dl">
          {job.http ? (
            <>
              <dt>Call</dt>
              <dd className="mono">
                {job.http.method} {job.http.url}
              </dd>
              {job.http.headers.length ? (
                <>
                  <dt>Headers</dt>
                  <dd className="mono small">
                    {job.http.headers.map((h) => (
                      <div key={h.name}>
                        {h.name}: {h.value}
                      </div>
                    ))}
                  </dd>
                </>
              ) : null}
              {job.http.body ? (
                <>
                  <dt>Body</dt>
                  <dd className="mono small">{job.http.body.length > 160 ? `${job.http.body.slice(0, 160)}…` : job.http.body}</dd>
                </>
              ) : null}
            </>
          ) : null}
          {job.script ? (
            <>
              <dt>Runs</dt>
              <dd className="mono">{[job.script.command, ...job.script.args].join(" ")}</dd>
              <dt>In</dt>
              <dd className="mono">{job.script.cwd}</dd>
              {job.script.env.length ? (
                <>
                  <dt>Env</dt>
                  <dd className="mono small">{job.script.env.map((e) => `${e.name}=${e.value}`).join(" ")}</dd>
                </>
              ) : null}
            </>
          ) : null}
          <dt>Retries</dt>
          <dd>
            {pluralize(job.retry.maxAttempts, "attempt")}, {formatSeconds(job.retry.initialDelay)} → {formatSeconds(job.retry.maxDelay)} (×{job.retry.multiplier})
          </dd>
          <dt>Timeout</dt>
          <dd>{formatSeconds(job.timeoutSeconds)}</dd>
          <dt>Overlap</dt>
          <dd>{CONCURRENCY_HELP[job.concurrency]}</dd>
          <dt>Missed</dt>
          <dd>{MISFIRE_HELP[job.misfire]}</dd>
          <dt>Owner</dt>
          <dd>{job.owner?.email ?? "—"}</dd>
          <dt>Updated</dt>
          <dd>{formatInZone(job.updatedAt, viewerZone(), { year: true })}</dd>
        </dl>
      </div>
    </div>
  );
}
