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
