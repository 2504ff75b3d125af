// One run: status, attempts, timing, result, error, output, and its log streaming live.
import { useCallback, useEffect, useRef, useState } from "react";
import { useClient, useMutation, useQuery, useSubscription } from "urql";
import { onEnd as onEndSource, pipe, subscribe } from "wonka";
import { errorText } from "../api/errors";
import { CancelRunMutation, RetryRunMutation, RunDetailQuery, RunEventsSubscription, RunLogSubscription } from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { RetryIcon, StopIcon } from "../components/icons";
import { StatusBadge, isActive } from "../components/status";
import { Banner, ConfirmDialog, EmptyState, ErrorState, PageLoading, Spinner, Switch, useToast } from "../components/ui";
import type { RunLogSubscription as RunLogData } from "../gql/graphql";
import { formatDuration, formatLocal, fromNow, viewerZone } from "../lib/format";
import { useDocumentTitle, useFirst, useNow, useThrottled } from "../lib/hooks";
import { mergeLogLines } from "../lib/log";
import { Link, useRouter } from "../router";

type LogLine = RunLogData["runLog"];

const timeFormat = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hourCycle: "h23",
  timeZone: viewerZone(),
} as Intl.DateTimeFormatOptions);

export function RunDetailPage({ id }: { id: string }) {
  const user = useCurrentUser();
  const toast = useToast();
  const { navigate } = useRouter();
  const now = useNow(1000);
  const [result, reexecute] = useQuery({ query: RunDetailQuery, variables: { id } });
  const run = result.data?.run;
  useDocumentTitle(run ? `Run #${run.id}` : "Run");

  const refetch = useThrottled(
    useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]),
    400,
  );

  // Status changes of this job's runs (this one and its retries).
  // From the feed position read with the run: no change is missed between.
  const jobId = run?.jobId ?? null;
  const position = useFirst(result.data?.feedPosition);
  useSubscription(
    { query: RunEventsSubscription, variables: { jobId, afterEventId: position }, pause: !jobId || position === undefined },
    (_, event) => {
      refetch();
      return event;
    },
  );

  const log = useRunLog(id, refetch);

  const [cancel, cancelRun] = useMutation(CancelRunMutation);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const closeConfirm = useCallback(() => setConfirmCancel(false), []);
  const [retry, retryRun] = useMutation(RetryRunMutation);

  if (result.fetching && !result.data) return <PageLoading label="Loading the run…" />;
  if (result.error && !result.data) return <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />;
  if (!run) {
    return (
      <div className="card">
        <EmptyState title="Run not found" action={<Link to="/jobs" className="btn">Back to jobs</Link>}>
          It was pruned, or it belongs to someone else's job.
        </EmptyState>
      </div>
    );
  }

  const active = isActive(run.status);
  const mayChange = user.role !== "VIEWER" && (run.job?.type !== "SCRIPT" || user.role === "ADMIN");
  const latestAttempt = run.attempts[run.attempts.length - 1];
  const retryable = !active && (!latestAttempt || latestAttempt.id === run.id) && run.status !== "SUCCEEDED";

  const onCancel = async () => {
    setConfirmCancel(false);
    const res = await cancelRun({ id: run.id });
    if (res.error) toast(errorText(res.error), "error");
    else toast("Cancelling: the run stops within seconds");
  };
  const onRetry = async () => {
    const res = await retryRun({ id: run.id });
    if (res.error) toast(errorText(res.error), "error");
    else if (res.data) {
      toast("Another attempt is queued");
      navigate(`/runs/${res.data.retryRun.id}`);
    }
  };

  return (
    <>
      <div className="page-header">
        <div>
          <div className="breadcrumb">
            <Link to="/jobs">Jobs</Link> / {run.job ? <Link to={`/jobs/${run.job.id}`}>{run.job.name}</Link> : "deleted job"} /
          </div>
          <div className="row">
            <h1>Run #{run.id}</h1>
            <span data-testid="run-status">
              <StatusBadge status={run.status} />
            </span>
            {run.cancelRequested && active ? <span className="badge warn">Cancelling…</span> : null}
          </div>
          <p className="subtitle">
            {run.trigger === "MANUAL" ? "Triggered by hand" : run.trigger === "RETRY" ? "A retry" : "Scheduled"} · attempt {run.attempt} ·{" "}
            scheduled for {formatLocal(run.scheduledFor, { seconds: true })}
          </p>
        </div>
        {mayChange ? (
          <div className="actions">
            {active ? (
              <button type="button" className="btn btn-danger" onClick={() => setConfirmCancel(true)} disabled={cancel.fetching || run.cancelRequested}>
                {cancel.fetching ? <Spinner /> : <StopIcon />} Cancel run
              </button>
            ) : null}
            {confirmCancel && active ? (
              <ConfirmDialog
                title={`Cancel run #${run.id}?`}
                confirmLabel="Cancel run"
                cancelLabel={run.status === "RUNNING" ? "Keep it running" : "Keep it queued"}
                danger
                busy={cancel.fetching}
                onConfirm={() => void onCancel()}
                onCancel={closeConfirm}
              >
                {run.status === "RUNNING" ? (
                  <p>
                    It is running now. The worker stops it within seconds: a script's process group is killed, an HTTP
                    request is aborted. Whatever it already did stays done, and it is not retried.
                  </p>
                ) : (
                  <p>It has not started yet and will not start. It is not retried.</p>
                )}
                <p className="muted">{run.job ? `${run.job.name}'s` : "The job's"} later runs are not affected.</p>
              </ConfirmDialog>
            ) : null}
            {retryable ? (
              <button type="button" className="btn" onClick={onRetry} disabled={retry.fetching}>
                {retry.fetching ? <Spinner /> : <RetryIcon />} Retry
              </button>
            ) : null}
          </div>
        ) : null}
      </div>

      {run.error ? (
        <Banner tone="error" title={run.status === "TIMED_OUT" ? "Timed out" : "Error"}>
          <span data-testid="run-error">{run.error}</span>
        </Banner>
      ) : null}

      <div className="stats">
        <div className="card stat">
          <div className="label">Result</div>
          <div className="value mono" data-testid="run-result">
            {run.httpStatus !== null ? `HTTP ${run.httpStatus}` : run.exitCode !== null ? `exit ${run.exitCode}` : "—"}
          </div>
          <div className="sub">{run.httpStatus !== null ? "response status" : run.exitCode !== null ? "exit code" : active ? "not finished" : "no result"}</div>
        </div>
        <div className="card stat">
          <div className="label">Duration</div>
          <div className="value">{formatDuration(run.durationMs ?? (run.startedAt && active ? now - new Date(run.startedAt).getTime() : null))}</div>
          <div className="sub">{active && run.startedAt ? "so far" : run.startLagMs !== null ? `started ${formatDuration(run.startLagMs)} after its time` : ""}</div>
        </div>
        <div className="card stat">
          <div className="label">Started</div>
          <div className="value" style={{ fontSize: 16 }}>{run.startedAt ? fromNow(run.startedAt, now) : "not yet"}</div>
          <div className="sub">{run.startedAt ? formatLocal(run.startedAt, { seconds: true }) : `queued ${fromNow(run.queuedAt, now)}`}</div>
        </div>
        <div className="card stat">
          <div className="label">Worker</div>
          <div className="value mono" style={{ fontSize: 14, overflowWrap: "anywhere" }}>{run.workerId ?? "—"}</div>
          <div className="sub">{run.finishedAt ? `finished ${fromNow(run.finishedAt, now)}` : ""}</div>
        </div>
      </div>

      <div className="layout-aside">
        <div className="card">
          <LogView lines={log.lines} streaming={log.streaming} error={log.error} total={run.logLines} truncated={run.logTruncated} active={active} />
        </div>
        <div className="stack">
          <div className="card">
            <div className="card-header">
              <h2>Attempts</h2>
              <span className="hint">{run.attempts.length} of this occurrence</span>
            </div>
            <ul className="next-runs">
              {run.attempts.map((a) => (
                <li key={a.id} className={a.id === run.id ? "current" : undefined}>
                  <div className="row" style={{ justifyContent: "space-between" }}>
                    <Link to={`/runs/${a.id}`}>
                      Attempt {a.attempt}
                      {a.id === run.id ? " (this one)" : ""}
                    </Link>
                    <StatusBadge status={a.status} />
                  </div>
                  <div className="sub">
                    {a.startedAt ? formatLocal(a.startedAt, { seconds: true }) : "not started"} · {formatDuration(a.durationMs)}
                    {a.httpStatus !== null ? ` · HTTP ${a.httpStatus}` : a.exitCode !== null ? ` · exit ${a.exitCode}` : ""}
                  </div>
                  {a.error && a.id !== run.id ? <div className="sub" style={{ color: "var(--bad)" }}>{a.error}</div> : null}
                </li>
              ))}
            </ul>
          </div>
          <div className="card">
            <div className="card-header">
              <h2>Timing</h2>
            </div>
            <div className="card-body">
              <dl className="dl">
                <dt>Scheduled</dt>
                <dd>{formatLocal(run.scheduledFor, { seconds: true, year: true })}</dd>
                <dt>Queued</dt>
                <dd>{formatLocal(run.queuedAt, { seconds: true })}</dd>
                {run.runAfter !== run.queuedAt ? (
                  <>
                    <dt>Not before</dt>
                    <dd>{formatLocal(run.runAfter, { seconds: true })}</dd>
                  </>
                ) : null}
                <dt>Started</dt>
                <dd>{formatLocal(run.startedAt, { seconds: true })}</dd>
                <dt>Finished</dt>
                <dd>{formatLocal(run.finishedAt, { seconds: true })}</dd>
              </dl>
            </div>
          </div>
          {run.output ? (
            <div className="card">
              <div className="card-header">
                <h2>Output</h2>
                <span className="hint">{run.httpStatus !== null ? "response body" : "last output"}</span>
              </div>
              <div className="card-body">
                <pre className="output" data-testid="run-output">{run.output}</pre>
              </div>
            </div>
          ) : null}
        </div>
      </div>
    </>
  );
}

/**
 * The run's log: the backlog, then live lines as they are written. The server ends the
 * stream once the run has finished and every line was sent; then `onEnd` runs (to refetch
 * the run's final status).
 */
function useRunLog(runId: string, onEnd: () => void) {
  const client = useClient();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [streaming, setStreaming] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const ended = useRef(onEnd);
  ended.current = onEnd;
  useEffect(() => {
    setLines([]);
    setStreaming(true);
    setError(null);
    const { unsubscribe } = pipe(
      client.subscription(RunLogSubscription, { runId, afterSeq: 0 }),
      onEndSource(() => {
        setStreaming(false);
        ended.current();
      }),
      subscribe((result) => {
        if (result.error) setError(result.error);
        const line = result.data?.runLog;
        if (line) setLines((current) => mergeLogLines(current, [line]));
      }),
    );
    return unsubscribe;
  }, [client, runId]);
  return { lines, streaming, error };
}

function LogView({
  lines,
  streaming,
  error,
  total,
  truncated,
  active,
}: {
  lines: LogLine[];
  streaming: boolean;
  error: unknown;
  total: number;
  truncated: boolean;
  active: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);
  return (
    <>
      <div className="card-header">
        <div className="row">
          <h2>Log</h2>
          {streaming && active ? <span className="live-dot">Streaming</span> : null}
          <span className="hint">
            {lines.length} {lines.length === 1 ? "line" : "lines"}
            {truncated ? " (capped; the oldest were kept)" : ""}
          </span>
        </div>
        <Switch checked={follow} onChange={setFollow} label="Follow" />
      </div>
      {error ? (
        <div className="card-body">
          <Banner tone="warn" title="The live log stopped">{errorText(error)} Reload the page to try again.</Banner>
        </div>
      ) : null}
      <div className="log" ref={box} role="log" aria-live="polite" aria-label="Run log" data-testid="run-log">
        {lines.length === 0 ? (
          <div className="log-empty">
            {streaming || active ? "Waiting for output…" : total === 0 ? "This run wrote no log lines." : "Loading…"}
          </div>
        ) : (
          lines.map((line) => (
            <div key={line.seq} className={`log-line ${line.stream}`}>
              <span className="seq">{line.seq}</span>
              <span className="ts">{timeFormat.format(new Date(line.ts))}</span>
              <span className="text">{line.text}</span>
            </div>
          ))
        )}
      </div>
    </>
  );
}
