// The job list: schedule in words, next run in both zones, last status, recent success,
// filters and search, kept live by the jobEvents subscription.
import { useCallback, useMemo, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { JobEventsSubscription, JobsQuery } from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { Sparkline } from "../components/charts";
import { GlobeIcon, PlusIcon, SearchIcon, TerminalIcon } from "../components/icons";
import { StatusBadge } from "../components/status";
import { EmptyState, ErrorState, SkeletonRows } from "../components/ui";
import type { JobType } from "../gql/graphql";
import { formatInZone, formatLocal, fromNow, viewerZone } from "../lib/format";
import { canonicalZone } from "../lib/timezones";
import { useDebounced, useDocumentTitle, useFirst, useNow, useThrottled } from "../lib/hooks";
import { Link, useRouter } from "../router";

const PAGE = 50;
const MAX_FIRST = 200; // the API's largest page

type PausedFilter = "all" | "active" | "paused";

export function JobsPage() {
  useDocumentTitle("Jobs");
  const user = useCurrentUser();
  const { location, navigate } = useRouter();
  const now = useNow();
  const [search, setSearch] = useState(location.search.get("q") ?? "");
  const [type, setType] = useState<JobType | "">((location.search.get("type") as JobType | null) ?? "");
  const [paused, setPaused] = useState<PausedFilter>((location.search.get("state") as PausedFilter | null) ?? "all");
  const [pages, setPages] = useState(1);
  const query = useDebounced(search.trim(), 250);
  const zone = viewerZone();

  const filter = useMemo(
    () => ({
      search: query || null,
      type: type || null,
      paused: paused === "all" ? null : paused === "paused",
    }),
    [query, type, paused],
  );
  const filtered = Boolean(query || type || paused !== "all");

  const [result, reexecute] = useQuery({
    query: JobsQuery,
    variables: { first: Math.min(MAX_FIRST, PAGE * pages), filter },
  });
  const refetch = useThrottled(
    useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]),
    700,
  );
  // Subscribe from the feed position read with the first page: no change is missed between.
  const position = useFirst(result.data?.feedPosition);
  useSubscription(
    { query: JobEventsSubscription, variables: { afterEventId: position }, pause: position === undefined },
    (_, event) => {
      refetch();
      return event;
    },
  );

  const updateUrl = (next: { q?: string; type?: string; state?: string }) => {
    const params = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(next)) {
      if (value) params.set(key, value);
      else params.delete(key);
    }
    const qs = params.toString();
    navigate(`/jobs${qs ? `?${qs}` : ""}`, { replace: true });
  };

  const jobs = result.data?.jobs.edges.map((e) => e.node) ?? [];
  const loading = result.fetching && !result.data;
  const isViewer = user.role === "VIEWER";

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Jobs</h1>
          <p className="subtitle">
            Times in your zone ({zone}) and the job's own.
          </p>
        </div>
        {!isViewer ? (
          <div className="actions">
            <Link to="/jobs/new" className="btn btn-primary">
              <PlusIcon /> New job
            </Link>
          </div>
        ) : null}
      </div>

      <div className="card">
        <div className="toolbar">
          <div className="search">
            <SearchIcon />
            <input
              className="input"
              type="search"
              placeholder="Search by name…"
              aria-label="Search jobs by name"
              value={search}
              onChange={(e) => {
                setSearch(e.target.value);
                updateUrl({ q: e.target.value.trim() });
              }}
            />
          </div>
          <select
            className="select"
            style={{ width: "auto" }}
            aria-label="Job type"
            value={type}
            onChange={(e) => {
              setType(e.target.value as JobType | "");
              updateUrl({ type: e.target.value });
            }}
          >
            <option value="">All types</option>
            <option value="HTTP">HTTP</option>
            <option value="SCRIPT">Script</option>
          </select>
          <select
            className="select"
            style={{ width: "auto" }}
            aria-label="Paused or active"
            value={paused}
            onChange={(e) => {
              setPaused(e.target.value as PausedFilter);
              updateUrl({ state: e.target.value === "all" ? "" : e.target.value });
            }}
          >
            <option value="all">Active and paused</option>
            <option value="active">Active only</option>
            <option value="paused">Paused only</option>
          </select>
        </div>

        {result.error && !result.data ? (
          <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />
        ) : !loading && jobs.length === 0 ? (
          filtered ? (
            <EmptyState icon={<SearchIcon size={20} />} title="No jobs match">
              Nothing matches these filters. Try another search, or clear the filters.
            </EmptyState>
          ) : (
            <EmptyState
              title="No jobs yet"
              action={
                !isViewer ? (
                  <Link to="/jobs/new" className="btn btn-primary">
                    <PlusIcon /> Create your first job
                  </Link>
                ) : undefined
              }
            >
              A job calls a URL or runs a script on a cron schedule, in the timezone you choose, with retries and a
              live log of every run.
            </EmptyState>
          )
        ) : (
          <div className="table-wrap">
            <table className="table stacked" aria-label="Jobs" aria-busy={loading}>
              <thead>
                <tr>
                  <th>Job</th>
                  <th>Schedule</th>
                  <th>Next run</th>
                  <th>Last run</th>
                  <th className="hide-sm">Recent runs</th>
                </tr>
              </thead>
              <tbody>
                {loading ? (
                  <SkeletonRows columns={5} />
                ) : (
                  jobs.map((job) => (
                    <tr
                      key={job.id}
                      className="clickable"
                      data-job-id={job.id}
                      onClick={(event) => {
                        if ((event.target as HTMLElement).closest("a,button")) return;
                        navigate(`/jobs/${job.id}`);
                      }}
                    >
                      <td className="primary-cell wide">
                        <div className="row" style={{ gap: 8, flexWrap: "nowrap" }}>
                          <span className="muted" title={job.type === "HTTP" ? "HTTP job" : "Script job"}>
                            {job.type === "HTTP" ? <GlobeIcon /> : <TerminalIcon />}
                          </span>
                          <Link to={`/jobs/${job.id}`}>{job.name}</Link>
                          {job.paused ? <span className="badge warn">Paused</span> : null}
                        </div>
                        <div className="sub">
                          {job.type === "HTTP" ? "HTTP" : "Script"}
                          {user.role !== "MEMBER" && job.owner ? ` · ${job.owner.email}` : ""}
                        </div>
                      </td>
                      <td className="wide" data-label="Schedule">
                        <div>{job.schedule.description}</div>
                        <div className="sub">
                          {job.schedule.cron ? <code>{job.schedule.cron}</code> : null} · {job.timezone}
                        </div>
                      </td>
                      <td className="next-run" data-label="Next run">
                        {job.paused || !job.nextRunAt ? (
                          <span className="muted">{job.paused ? "Paused" : "None scheduled"}</span>
                        ) : (
                          <>
                            {/* Each piece keeps its words together; the pieces wrap in a narrow cell. */}
                            <div title={`In your zone (${zone})`}>
                              <span className="nowrap">{formatLocal(job.nextRunAt)}</span>{" "}
                              <span className="sub nowrap">{fromNow(job.nextRunAt, now)}</span>
                            </div>
                            {canonicalZone(job.timezone) !== zone ? (
                              <div className="sub" title={`In the job's zone (${job.timezone})`}>
                                <span className="nowrap">{formatInZone(job.nextRunAt, job.timezone)}</span> job time
                              </div>
                            ) : null}
                          </>
                        )}
                      </td>
                      <td data-label="Last run">
                        {job.lastRun ? (
                          <Link to={`/runs/${job.lastRun.id}`} className="nowrap" aria-label="Last run">
                            <StatusBadge status={job.lastRun.status} />
                          </Link>
                        ) : (
                          <span className="muted">Never run</span>
                        )}
                        {job.lastRun?.finishedAt || job.lastRun?.startedAt ? (
                          <div className="sub">{fromNow(job.lastRun.finishedAt ?? job.lastRun.startedAt, now)}</div>
                        ) : null}
                      </td>
                      <td className="hide-sm">
                        <Sparkline points={job.stats.recent} />
                      </td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        )}
        {result.data?.jobs.pageInfo.hasNextPage ? (
          <div className="card-footer">
            <span>
              Showing the newest {jobs.length} jobs
              {jobs.length >= MAX_FIRST ? "; search or filter to find the others" : ""}
            </span>
            {jobs.length < MAX_FIRST ? (
              <button type="button" className="btn btn-sm" onClick={() => setPages((p) => p + 1)} disabled={result.fetching}>
                Load more
              </button>
            ) : null}
          </div>
        ) : jobs.length > 0 ? (
          <div className="card-footer">
            <span>
              {jobs.length} {jobs.length === 1 ? "job" : "jobs"}
            </span>
          </div>
        ) : null}
      </div>
    </>
  );
}
