// Run statuses as coloured badges, with a word a person would use.
import type { RunStatus } from "../gql/graphql";

export const STATUS_LABEL: Record<RunStatus, string> = {
  QUEUED: "Queued",
  RUNNING: "Running",
  SUCCEEDED: "Succeeded",
  FAILED: "Failed",
  TIMED_OUT: "Timed out",
  CANCELLED: "Cancelled",
  LOST: "Lost",
  SKIPPED: "Skipped",
  MISSED: "Missed",
};

export const STATUS_TONE: Record<RunStatus, string> = {
  QUEUED: "info",
  RUNNING: "accent running",
  SUCCEEDED: "ok",
  FAILED: "bad",
  TIMED_OUT: "bad",
  CANCELLED: "warn",
  LOST: "bad",
  SKIPPED: "",
  MISSED: "",
};

export const ALL_STATUSES = Object.keys(STATUS_LABEL) as RunStatus[];

export function isActive(status: RunStatus): boolean {
  return status === "QUEUED" || status === "RUNNING";
}

export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <span className={`badge ${STATUS_TONE[status]}`} data-status={status}>
      <span className="dot" />
      {STATUS_LABEL[status]}
    </span>
  );
}

/** A finished run's result in a few characters: "HTTP 503", "exit 1", or the error. */
export function RunResult({ httpStatus, exitCode, error }: { httpStatus: number | null; exitCode: number | null; error: string | null }) {
  if (httpStatus !== null) return <span className="mono">HTTP {httpStatus}</span>;
  if (exitCode !== null) return <span className="mono">exit {exitCode}</span>;
  if (error) return <span className="muted small" title={error}>{error.length > 40 ? `${error.slice(0, 40)}…` : error}</span>;
  return <span className="muted">—</span>;
}
