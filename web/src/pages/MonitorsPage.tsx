// Heartbeat monitors: state, last ping, the next expected ping in your zone and the
// monitor's, the schedule; kept live by the monitorEvents subscription.
import { useCallback, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { MonitorEventsSubscription, MonitorsQuery } from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { ClockIcon, PlusIcon } from "../components/icons";
import { MonitorBadge } from "../components/MonitorBadge";
import { RelativeTime } from "../components/RelativeTime";
import { EmptyState, ErrorState, SkeletonRows } from "../components/ui";
import { formatInterval, monitorScheduleText, stateSummary } from "../lib/monitors";
import { formatLocal, fromNow, viewerZone, wallClock } from "../lib/format";
import { useDocumentTitle, useFirst, useNow, useThrottled } from "../lib/hooks";
import { canonicalZone } from "../lib/timezones";
import { Link, useRouter } from "../router";

const PAGE = 50;
const MAX_FIRST = 200; // the API's largest page

/** Refetch a page's query on every monitorEvents event, from the feed position it read. */
export function useMonitorEvents(feedPosition: string | undefined, reexecute: (opts: { requestPolicy: "network-only" }) => void) {
  const refetch = useThrottled(
    useCallback(() => reexecute({ requestPolicy: "network-only" }), [reexecute]),
    600,
  );
  const position = useFirst(feedPosition);
  useSubscription(
    { query: MonitorEventsSubscription, variables: { afterEventId: position }, pause: position === undefined },
    (_, event) => {
      refetch();
      return event;
    },
  );
}

export function MonitorsPage() {
  useDocumentTitle("Monitors");
  const user = useCurrentUser();
  const { navigate } = useRouter();
  const now = useNow();
  const zone = viewerZone();
  const [pages, setPages] = useState(1);
  const [result, reexecute] = useQuery({
    query: MonitorsQuery,
    variables: { first: Math.min(MAX_FIRST, PAGE * pages), zones: [zone] },
  });
  useMonitorEvents(result.data?.feedPosition, reexecute);

  const monitors = result.data?.monitors.edges.map((e) => e.node) ?? [];
  const loading = result.fetching && !result.data;
  const isViewer = user.role === "VIEWER";
  const newButton = !isViewer ? (
    <Link to="/monitors/new" className="btn btn-primary">
      <PlusIcon /> New monitor
    </Link>
  ) : undefined;

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Monitors</h1>
          <p className="subtitle">Cron jobs that run elsewhere and ping dts. Times in your zone ({zone}) and the monitor's.</p>
        </div>
        {newButton ? <div className="actions">{newButton}</div> : null}
      </div>

      <div className="card">
        {result.error && !result.data ? (
          <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />
        ) : !loading && monitors.length === 0 ? (
          <EmptyState icon={<ClockIcon size={20} />} title="No monitors yet" action={newButton}>
            A monitor watches a job dts does not run: a crontab line, a backup on another host, a Kubernetes CronJob. The
            job calls the monitor's secret ping URL when it runs, and dts tells you when the ping is late, when the job
            reports a failure, or when it runs too long.
          </EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table stacked" aria-label="Monitors" aria-busy={loading}>
              <thead>
                <tr>
                  <th>Monitor</th>
                  <th>State</th>
                  <th>Last ping</th>
                  <th>Next expected</th>
                  <th>Schedule</th>
                </tr>
              </thead>
              <tbody>
                {loading ? (
                  <SkeletonRows columns={5} />
                ) : (
                  monitors.map((monitor) => {
                    const next = monitor.nextExpected;
                    return (
                      <tr
                        key={monitor.id}
                        className="clickable"
                        data-monitor-id={monitor.id}
                        onClick={(event) => {
                          if ((event.target as HTMLElement).closest("a,button")) return;
                          navigate(`/monitors/${monitor.id}`);
                        }}
                      >
                        <td className="primary-cell wide">
                          <Link to={`/monitors/${monitor.id}`}>{monitor.name}</Link>
                          {user.role !== "MEMBER" && monitor.owner ? <div className="sub">{monitor.owner.email}</div> : null}
                        </td>
                        <td data-label="State">
                          <MonitorBadge monitor={monitor} />
                        </td>
                        <td data-label="Last ping" className="nowrap">
                          {monitor.lastPingAt ? <RelativeTime iso={monitor.lastPingAt} /> : <span className="muted">Never</span>}
                          {monitor.state === "RUNNING" && monitor.lastStartAt ? (
                            <div className="sub">
                              started <RelativeTime iso={monitor.lastStartAt} />
                            </div>
                          ) : null}
                        </td>
                        <td data-label="Next expected">
                          {monitor.paused ? (
                            <span className="muted">Paused</span>
                          ) : !next ? (
                            <span className="muted">{monitor.state === "NEW" ? "After the first ping" : "—"}</span>
                          ) : (
                            <>
                              <div title={`In your zone (${zone})`}>
                                <span className="nowrap">{formatLocal(next.utc)}</span>{" "}
                                <span className="sub nowrap">{fromNow(next.utc, now)}</span>
                              </div>
                              {canonicalZone(monitor.timezone) !== zone ? (
                                <div className="sub" title={`In the monitor's zone (${monitor.timezone})`}>
                                  <span className="nowrap">
                                    {wallClock(next.local)} {next.abbreviation}
                                  </span>{" "}
                                  monitor time
                                </div>
                              ) : null}
                            </>
                          )}
                        </td>
                        <td className="wide" data-label="Schedule">
                          <div>{monitor.cron ? <code>{monitor.cron}</code> : monitorScheduleText(monitor)}</div>
                          <div className="sub">
                            {monitor.cron ? `${monitor.timezone} · ` : ""}grace {formatInterval(monitor.graceSeconds)}
                          </div>
                        </td>
                      </tr>
                    );
                  })
                )}
              </tbody>
            </table>
          </div>
        )}
        {result.data?.monitors.pageInfo.hasNextPage ? (
          <div className="card-footer">
            <span>Showing the newest {monitors.length} monitors</span>
            {monitors.length < MAX_FIRST ? (
              <button type="button" className="btn btn-sm" onClick={() => setPages((p) => p + 1)} disabled={result.fetching}>
                Load more
              </button>
            ) : null}
          </div>
        ) : monitors.length > 0 ? (
          <div className="card-footer">
            <span data-testid="monitor-summary">
              {monitors.length} {monitors.length === 1 ? "monitor" : "monitors"}: {stateSummary(monitors)}
            </span>
          </div>
        ) : null}
      </div>
    </>
  );
}
