// The table of runs on the Runs page and on a job's page: one row a run, newest first;
// a click anywhere on a row opens the run.
import type { JobType, RunRowFieldsFragment } from "../gql/graphql";
import { formatDuration, formatLocal, fromNow } from "../lib/format";
import { Link, useRouter } from "../router";
import { GlobeIcon, TerminalIcon } from "./icons";
import { RunResult, STATUS_LABEL, StatusBadge } from "./status";
import { SkeletonRows } from "./ui";

/** A run as the table shows it; `jobId` and `job` are needed only with `showJob`. */
export type RunsTableRun = RunRowFieldsFragment & {
  jobId?: string;
  job?: { id: string; name: string; type: JobType } | null;
};

export function RunsTable({
  runs,
  now,
  loading,
  showJob = false,
  skeletonRows,
}: {
  runs: RunsTableRun[];
  /** The clock the "5 minutes ago" texts are measured from (useNow). */
  now: number;
  /** Shows placeholder rows instead of the runs. */
  loading: boolean;
  /** Adds a Job column: the job's kind and a link to it (the Runs page spans all jobs). */
  showJob?: boolean;
  skeletonRows: number;
}) {
  return (
    <div className="table-wrap">
      <table className="table stacked" aria-label="Runs">
        <thead>
          <tr>
            <th>Status</th>
            {showJob ? <th>Job</th> : null}
            <th>Scheduled for</th>
            <th className="num">Duration</th>
            <th className="hide-sm">Result</th>
            <th className="hide-sm">Trigger</th>
          </tr>
        </thead>
        <tbody>
          {loading ? (
            <SkeletonRows columns={showJob ? 6 : 5} rows={skeletonRows} />
          ) : (
            runs.map((run) => <RunRow key={run.id} run={run} now={now} showJob={showJob} />)
          )}
        </tbody>
      </table>
    </div>
  );
}

function RunRow({ run, now, showJob }: { run: RunsTableRun; now: number; showJob: boolean }) {
  const { navigate } = useRouter();
  return (
    <tr className="clickable" data-run-id={run.id} onClick={() => navigate(`/runs/${run.id}`)}>
      <td>
        <Link to={`/runs/${run.id}`} aria-label={`Run ${run.id}: ${STATUS_LABEL[run.status]}`}>
          <StatusBadge status={run.status} />
        </Link>
      </td>
      {showJob ? (
        <td data-label="Job">
          {run.job ? (
            <span className="row" style={{ gap: 6, flexWrap: "nowrap" }}>
              <span className="muted">{run.job.type === "HTTP" ? <GlobeIcon size={14} /> : <TerminalIcon size={14} />}</span>
              <Link to={`/jobs/${run.job.id}`} onClick={(e) => e.stopPropagation()}>
                {run.job.name}
              </Link>
            </span>
          ) : (
            <span className="muted">job {run.jobId} (deleted)</span>
          )}
        </td>
      ) : null}
      <td className="nowrap" data-label="Scheduled for">
        <div>{formatLocal(run.scheduledFor, { seconds: true })}</div>
        <div className="sub">{fromNow(run.scheduledFor, now)}</div>
      </td>
      <td className="num nowrap" data-label="Duration">
        {formatDuration(run.durationMs)}
      </td>
      <td className="hide-sm">
        <RunResult httpStatus={run.httpStatus} exitCode={run.exitCode} error={run.error} />
      </td>
      <td className="hide-sm">
        <span className="tag">{run.trigger.toLowerCase()}</span>
        {run.attempt > 1 ? <span className="sub"> attempt {run.attempt}</span> : null}
      </td>
    </tr>
  );
}
