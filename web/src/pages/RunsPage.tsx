// Every run of every job the user can read, newest first: failures first by default,
// filtered by status and time range (kept in the URL), kept live by runEvents.
import { useCallback, useMemo, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { RunEventsSubscription, RunsQuery } from "../api/operations";
import { RunsTable } from "../components/RunsTable";
import { ALL_STATUSES, STATUS_LABEL } from "../components/status";
import { EmptyState, ErrorState } from "../components/ui";
import type { RunStatus } from "../gql/graphql";
import { viewerZone } from "../lib/format";
import { useDocumentTitle, useFirst, useNow, useThrottled } from "../lib/hooks";
import { Link, useRouter } from "../router";
import { Pager } from "../components/Pager";

const PAGE = 50;

/** The status filter: a group, or one status. */
export type RunStatusFilter = "failures" | "active" | "all" | RunStatus;

export const FAILURE_STATUSES: RunStatus[] = ["FAILED", "TIMED_OUT", "LOST"];

export const STATUS_FILTERS: { value: RunStatusFilter; label: string; statuses: RunStatus[] | null }[] = [
  { value: "failures", label: "Failures (failed, timed out, lost)", statuses: FAILURE_STATUSES },
  { value: "all", label: "All statuses", statuses: null },
  { value: "active", label: "In progress (queued, running)", statuses: ["QUEUED", "RUNNING"] },
  ...ALL_STATUSES.map((s) => ({ value: s as RunStatusFilter, label: STATUS_LABEL[s], statuses: [s] })),
];

export type TimeRange = "1h" | "24h" | "7d" | "30d" | "all";

export const TIME_RANGES: { value: TimeRange; label: string; ms: number | null }[] = [
  { value: "1h", label: "Last hour", ms: 3_600_000 },
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000 },
  { value: "all", label: "Any time", ms: null },
];

const DEFAULT_STATUS: RunStatusFilter = "failures";
const DEFAULT_RANGE: TimeRange = "7d";

export function parseStatusFilter(value: string | null): RunStatusFilter {
  return STATUS_FILTERS.find((f) => f.value === value)?.value ?? DEFAULT_STATUS;
}

export function parseTimeRange(value: string | null): TimeRange {
  return TIME_RANGES.find((r) => r.value === value)?.value ?? DEFAULT_RANGE;
}

/** "No failed runs in the last 7 days": what an empty result means, in words. */
export function emptyTitle(filter: RunStatusFilter, range: TimeRange): string {
  const what =
    filter === "failures"
      ? "No failed runs"
      : filter === "all"
        ? "No runs"
        : filter === "active"
          ? "No runs in progress"
          : `No ${STATUS_LABEL[filter].toLowerCase()} runs`;
  if (filter === "active") return what;
  const when = TIME_RANGES.find((r) => r.value === range);
  return range === "all" ? what : `${what} in the ${(when?.label ?? "").toLowerCase()}`;
}

export function RunsPage() {
  useDocumentTitle("Runs");
  const { location, navigate } = useRouter();
  const now = useNow();
  const zone = viewerZone();
  const filter = parseStatusFilter(location.search.get("status"));
  const range = parseTimeRange(location.search.get("range"));
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;

  // The window's start is fixed when the range is chosen (not on every render), so the
  // query's variables stay the same while the page is open.
  const [anchor, setAnchor] = useState(() => Date.now());
  const since = useMemo(() => {
    const ms = TIME_RANGES.find((r) => r.value === range)?.ms ?? null;
    return ms === null ? null : new Date(anchor - ms).toISOString();
  }, [range, anchor]);
  const statuses = STATUS_FILTERS.find((f) => f.value === filter)?.statuses ?? null;

  const [result, reexecute] = useQuery({
    query: RunsQuery,
    variables: { first: PAGE, after, status: statuses, since },
  });
  const refetch = useThrottled(
    useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]),
    700,
  );
  const position = useFirst(result.data?.feedPosition);
  useSubscription(
    { query: RunEventsSubscription, variables: { afterEventId: position }, pause: position === undefined },
    (_, event) => {
      refetch();
      return event;
    },
  );

  const update = (next: { status?: RunStatusFilter; range?: TimeRange }) => {
    const params = new URLSearchParams();
    const status = next.status ?? filter;
    const when = next.range ?? range;
    if (status !== DEFAULT_STATUS) params.set("status", status);
    if (when !== DEFAULT_RANGE) params.set("range", when);
    const qs = params.toString();
    setCursors([null]);
    setAnchor(Date.now());
    navigate(`/runs${qs ? `?${qs}` : ""}`, { replace: true });
  };

  const runs = result.data?.runs.edges.map((e) => e.node) ?? [];
  const pageInfo = result.data?.runs.pageInfo;
  const loading = result.fetching && !result.data;

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Runs</h1>
          <p className="subtitle">
            Every run of the jobs you can see, newest first; failures first unless you pick another status. Times in your
            zone ({zone}).
          </p>
        </div>
      </div>

      <div className="card">
        <div className="toolbar">
          <select
            className="select"
            style={{ width: "auto" }}
            aria-label="Status"
            value={filter}
            onChange={(e) => update({ status: e.target.value as RunStatusFilter })}
          >
            {STATUS_FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
          <select
            className="select"
            style={{ width: "auto" }}
            aria-label="Time range"
            value={range}
            onChange={(e) => update({ range: e.target.value as TimeRange })}
          >
            {TIME_RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </div>

        {result.error && !result.data ? (
          <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />
        ) : !loading && runs.length === 0 ? (
          <EmptyState
            title={emptyTitle(filter, range)}
            action={
              filter !== "all" ? (
                <button type="button" className="btn" onClick={() => update({ status: "all" })}>
                  Show all runs
                </button>
              ) : range !== "all" ? (
                <button type="button" className="btn" onClick={() => update({ range: "all" })}>
                  Show any time
                </button>
              ) : (
                <Link to="/jobs" className="btn">
                  Go to jobs
                </Link>
              )
            }
          >
            {filter === "failures" ? "Every run in this window succeeded or is still going." : "Runs appear here live as they start."}
          </EmptyState>
        ) : (
          <RunsTable runs={runs} now={now} loading={loading} showJob skeletonRows={6} />
        )}
        <Pager page={cursors.length} hasNewer={cursors.length > 1} hasOlder={!!pageInfo?.hasNextPage} onNewer={() => setCursors((c) => c.slice(0, -1))} onOlder={() => setCursors((c) => [...c, pageInfo?.endCursor ?? null])} />
      </div>
    </>
  );
}
