// Workers: every process that runs jobs, polled every few seconds.
import { useQuery } from "urql";
import { WorkersQuery } from "../api/operations";
import { ServerIcon } from "../components/icons";
import { EmptyState, ErrorState, SkeletonRows } from "../components/ui";
import { formatLocal, fromNow } from "../lib/format";
import { useDocumentTitle, useInterval, useNow } from "../lib/hooks";

const POLL_MS = 3000;

export function WorkersPage() {
  useDocumentTitle("Workers");
  const now = useNow(POLL_MS);
  const [result, reexecute] = useQuery({ query: WorkersQuery, requestPolicy: "network-only" });
  useInterval(() => reexecute({ requestPolicy: "network-only" }), POLL_MS);
  const workers = result.data?.workers ?? [];
  const alive = workers.filter((w) => w.alive);
  const running = alive.reduce((sum, w) => sum + w.running, 0);
  const capacity = alive.reduce((sum, w) => sum + w.capacity, 0);

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Workers</h1>
          <p className="subtitle">
            Processes that claim and run jobs. Refreshed every {POLL_MS / 1000} seconds; a worker that stops
            heart-beating is shown as gone and its runs are recovered.
          </p>
        </div>
      </div>
      <div className="stats">
        <div className="card stat">
          <div className="label">Alive</div>
          <div className="value" data-testid="workers-alive">{result.data ? alive.length : "—"}</div>
          <div className="sub">{workers.length - alive.length} gone</div>
        </div>
        <div className="card stat">
          <div className="label">Running now</div>
          <div className="value">{result.data ? running : "—"}</div>
          <div className="sub">of {capacity} slots</div>
        </div>
        <div className="card stat">
          <div className="label">Utilisation</div>
          <div className="value">{capacity ? `${Math.round((running / capacity) * 100)}%` : "—"}</div>
          <div className="sub">across alive workers</div>
        </div>
        <div className="card stat">
          <div className="label">Hosts</div>
          <div className="value">{result.data ? new Set(alive.map((w) => w.host)).size : "—"}</div>
          <div className="sub">with an alive worker</div>
        </div>
      </div>
      <div className="card">
        {result.error && !result.data ? (
          <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />
        ) : result.data && workers.length === 0 ? (
          <EmptyState icon={<ServerIcon size={20} />} title="No workers yet">
            Start one with <code>dts worker</code> (or <code>dts up</code>, which runs one inside the API process).
          </EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table stacked" aria-label="Workers">
              <thead>
                <tr>
                  <th>Worker</th>
                  <th>State</th>
                  <th className="num">Running</th>
                  <th>Last heartbeat</th>
                  <th className="hide-sm">Started</th>
                  <th className="hide-sm">Version</th>
                </tr>
              </thead>
              <tbody>
                {!result.data ? (
                  <SkeletonRows columns={6} rows={2} />
                ) : (
                  workers.map((w) => (
                    <tr key={w.id}>
                      <td className="primary-cell wide">
                        <div className="row" style={{ gap: 8, flexWrap: "nowrap" }}>
                          <ServerIcon />
                          <strong>{w.host}</strong>
                        </div>
                        <div className="sub mono">
                          pid {w.pid} · {w.id}
                        </div>
                      </td>
                      <td>
                        {w.alive ? (
                          <span className="badge ok">
                            <span className="dot" /> Alive
                          </span>
                        ) : (
                          <span className="badge">
                            <span className="dot" /> {w.stoppedAt ? "Stopped" : "Gone"}
                          </span>
                        )}
                      </td>
                      <td className="num" data-label="Running">
                        <div>
                          {w.running} / {w.capacity}
                        </div>
                        <div className="meter" aria-hidden="true">
                          <span style={{ width: `${w.capacity ? Math.min(100, (w.running / w.capacity) * 100) : 0}%` }} />
                        </div>
                      </td>
                      <td className="nowrap" data-label="Last heartbeat">
                        <div>{fromNow(w.lastHeartbeatAt, now)}</div>
                        <div className="sub">{formatLocal(w.lastHeartbeatAt, { seconds: true })}</div>
                      </td>
                      <td className="hide-sm nowrap">{formatLocal(w.startedAt)}</td>
                      <td className="hide-sm mono small">{w.version}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </>
  );
}
