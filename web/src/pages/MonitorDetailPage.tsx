// One heartbeat monitor: its state, the secret ping URL with curl lines, the schedule, the
// next expected ping in the monitor's zone and yours, the last pings with their logs, and
// which alert rules apply with its incidents. Kept live by monitorEvents.
import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { errorText } from "../api/errors";
import {
  DeleteMonitorMutation,
  MonitorDetailQuery,
  PauseMonitorMutation,
  PreviewScheduleQuery,
  ResumeMonitorMutation,
} from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { CopyIcon, EditIcon, KeyIcon, PauseIcon, PlayIcon, TrashIcon } from "../components/icons";
import { MonitorBadge } from "../components/MonitorBadge";
import { AlertsCard } from "../components/Notifications";
import { RelativeTime } from "../components/RelativeTime";
import { ConfirmDialog, EmptyState, ErrorState, PageLoading, useToast } from "../components/ui";
import type { MonitorDetailQuery as MonitorDetailData, PingKind } from "../gql/graphql";
import { formatInZone, formatLocal, fromNow, viewerZone, wallClock, zoneAbbreviation } from "../lib/format";
import { useDocumentTitle, useNow } from "../lib/hooks";
import { formatInterval, maskPingUrl, monitorScheduleText, monitorStateView, pingExamples } from "../lib/monitors";
import { Link, useRouter } from "../router";
import { useMonitorEvents } from "./MonitorsPage";

const PINGS = 20;

type Monitor = NonNullable<MonitorDetailData["monitor"]>;
type Ping = Monitor["pings"][number];

const KIND: Record<PingKind, { label: string; tone: string }> = {
  SUCCESS: { label: "Success", tone: "ok" },
  START: { label: "Start", tone: "accent" },
  FAIL: { label: "Fail", tone: "bad" },
};

export function MonitorDetailPage({ id }: { id: string }) {
  const user = useCurrentUser();
  const { navigate } = useRouter();
  const toast = useToast();
  const viewer = viewerZone();
  const [confirm, setConfirm] = useState(false);
  const [result, reexecute] = useQuery({ query: MonitorDetailQuery, variables: { id, zones: [viewer], pings: PINGS } });
  useMonitorEvents(result.data?.feedPosition, reexecute);
  const [pause, pauseMonitor] = useMutation(PauseMonitorMutation);
  const [resume, resumeMonitor] = useMutation(ResumeMonitorMutation);
  const [removal, deleteMonitor] = useMutation(DeleteMonitorMutation);

  const monitor = result.data?.monitor;
  useDocumentTitle(monitor?.name ?? "Monitor");

  if (result.fetching && !result.data) return <PageLoading label="Loading the monitor…" />;
  if (result.error && !result.data) return <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />;
  if (!monitor) {
    return (
      <div className="card">
        <EmptyState title="Monitor not found" action={<Link to="/monitors" className="btn">Back to monitors</Link>}>
          It was deleted, or it belongs to someone else.
        </EmptyState>
      </div>
    );
  }

  const mayChange = user.role !== "VIEWER" && (user.role === "ADMIN" || monitor.owner?.id === user.id);
  const state = monitorStateView(monitor);

  const onPause = async () => {
    const res = await pauseMonitor({ id: monitor.id });
    if (res.error) toast(errorText(res.error), "error");
    else toast("Monitor paused: it is never late or down until resumed");
  };
  const onResume = async () => {
    const res = await resumeMonitor({ id: monitor.id });
    if (res.error) toast(errorText(res.error), "error");
    else toast("Monitor resumed: it waits for the next ping");
  };
  const onDelete = async () => {
    const res = await deleteMonitor({ id: monitor.id });
    if (res.error) {
      setConfirm(false);
      toast(errorText(res.error), "error");
      return;
    }
    toast(`Deleted ${monitor.name}`);
    navigate("/monitors", { replace: true });
  };

  return (
    <>
      <div className="page-header">
        <div style={{ minWidth: 0 }}>
          <div className="breadcrumb">
            <Link to="/monitors">Monitors</Link> /
          </div>
          <div className="row">
            <h1>{monitor.name}</h1>
            <MonitorBadge monitor={monitor} />
          </div>
          <p className="subtitle">
            {state.help} · {monitorScheduleText(monitor)}
          </p>
        </div>
        {mayChange ? (
          <div className="actions">
            {monitor.paused ? (
              <button type="button" className="btn" onClick={onResume} disabled={resume.fetching}>
                <PlayIcon /> Resume
              </button>
            ) : (
              <button type="button" className="btn" onClick={onPause} disabled={pause.fetching}>
                <PauseIcon /> Pause
              </button>
            )}
            <Link to={`/monitors/${monitor.id}/edit`} className="btn">
              <EditIcon /> Edit
            </Link>
            <button type="button" className="btn btn-danger" onClick={() => setConfirm(true)}>
              <TrashIcon /> Delete
            </button>
          </div>
        ) : null}
      </div>

      <MonitorStats monitor={monitor} viewer={viewer} />

      <div className="layout-aside">
        <div className="stack">
          <PingUrlCard url={monitor.pingUrl} pinged={monitor.pings.length > 0} />
          <PingsCard monitor={monitor} />
          <AlertsCard
            subject="monitor"
            id={monitor.id}
            mayChange={mayChange}
            refreshKey={`${monitor.state}:${monitor.ranTooLong}:${monitor.lastPingAt ?? ""}:${monitor.pings[0]?.id ?? ""}`}
          />
        </div>
        <ScheduleCard monitor={monitor} viewer={viewer} />
      </div>

      {confirm ? (
        <ConfirmDialog
          title={`Delete ${monitor.name}?`}
          confirmLabel="Delete monitor"
          danger
          busy={removal.fetching}
          onConfirm={onDelete}
          onCancel={() => setConfirm(false)}
        >
          <p>Its ping URL stops working (it answers 404) and its pings are deleted. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

function MonitorStats({ monitor, viewer }: { monitor: Monitor; viewer: string }) {
  const now = useNow();
  const next = monitor.nextExpected;
  const mine = next?.zones.find((z) => z.timezone === viewer);
  return (
    <div className="stats">
      <div className="card stat">
        <div className="label">State</div>
        <div className="value" style={{ fontSize: 16 }} data-testid="monitor-state">
          {monitorStateView(monitor).label}
        </div>
        <div className="sub">{monitor.lastStartAt && monitor.state === "RUNNING" ? <>started <RelativeTime iso={monitor.lastStartAt} /></> : monitorStateView(monitor).help}</div>
      </div>
      <div className="card stat">
        <div className="label">Last ping</div>
        <div className="value" style={{ fontSize: 16 }}>
          {monitor.lastPingAt ? <RelativeTime iso={monitor.lastPingAt} /> : "Never"}
        </div>
        <div className="sub">{monitor.lastPingAt ? formatLocal(monitor.lastPingAt, { seconds: true }) : "waiting for the first ping"}</div>
      </div>
      <div className="card stat" data-testid="next-expected">
        <div className="label">Next expected</div>
        {next ? (
          <>
            <div className="value" style={{ fontSize: 16 }}>
              {fromNow(next.utc, now)}
            </div>
            <div className="sub" title={`The monitor's zone (${monitor.timezone})`}>
              {wallClock(next.local)} {next.abbreviation} <span className="muted">· monitor</span>
            </div>
            {mine && monitor.timezone !== viewer ? (
              <div className="sub" title={`Your zone (${viewer})`}>
                {wallClock(mine.local)} {zoneAbbreviation(next.utc, viewer)} <span className="muted">· you</span>
              </div>
            ) : null}
            {next.note ? <div className="dst-note">{next.note}</div> : null}
          </>
        ) : (
          <>
            <div className="value" style={{ fontSize: 16 }}>
              —
            </div>
            <div className="sub">{monitor.paused ? "paused" : "after the first ping"}</div>
          </>
        )}
      </div>
      <div className="card stat">
        <div className="label">Grace</div>
        <div className="value" style={{ fontSize: 16 }}>
          {formatInterval(monitor.graceSeconds)}
        </div>
        <div className="sub">
          {monitor.maxDurationSeconds ? `runs over ${formatInterval(monitor.maxDurationSeconds)} are too long` : "no run-time limit"}
        </div>
      </div>
    </div>
  );
}

function copy(text: string, toast: (text: string, tone?: "info" | "error") => void) {
  if (!navigator.clipboard) {
    toast("This browser does not allow copying here; select the text instead", "error");
    return;
  }
  navigator.clipboard.writeText(text).then(
    () => toast("Copied"),
    () => toast("Could not copy; select the text instead", "error"),
  );
}

function PingUrlCard({ url, pinged }: { url: string; pinged: boolean }) {
  const toast = useToast();
  const [revealed, setRevealed] = useState(false);
  const [examples, setExamples] = useState(!pinged);
  const shown = revealed ? url : maskPingUrl(url);
  return (
    <div className="card">
      <div className="card-header">
        <h2>Ping URL</h2>
        <span className="hint">Secret: anyone with it can ping. GET or POST, no sign-in.</span>
      </div>
      <div className="card-body">
        <div className="secret-box">
          <code data-testid="ping-url">{shown}</code>
          <button type="button" className="btn btn-sm" onClick={() => setRevealed((r) => !r)} aria-pressed={revealed}>
            <KeyIcon /> {revealed ? "Hide" : "Show"}
          </button>
          <button type="button" className="btn btn-sm" onClick={() => copy(url, toast)}>
            <CopyIcon /> Copy
          </button>
        </div>
        {/* Shown until the first ping came: then the job is evidently set up. */}
        <button
          type="button"
          className="text-button small"
          style={{ display: "block", marginTop: 12 }}
          aria-expanded={examples}
          onClick={() => setExamples((e) => !e)}
        >
          {examples ? "Hide the curl examples" : "curl examples: success, start, fail, exit status"}
        </button>
        {examples ? (
          <div className="stack" style={{ marginTop: 8, gap: 12 }}>
            {pingExamples(shown).map((example) => (
              <div key={example.title}>
                <div className="muted small" style={{ marginBottom: 4 }}>
                  {example.title}
                </div>
                <pre className="output">{example.command}</pre>
              </div>
            ))}
            <p className="muted small" style={{ margin: 0 }}>
              <code>/&lt;exit status&gt;</code>: 0 is success, 1–255 a failure. A POST body (up to 100 KB) is kept as the
              ping's log. {revealed ? null : "Show the URL to put it in the commands."}
            </p>
          </div>
        ) : null}
      </div>
    </div>
  );
}

function PingsCard({ monitor }: { monitor: Monitor }) {
  const [open, setOpen] = useState<string | null>(null);
  const selected: Ping | undefined = monitor.pings.find((p) => p.id === open);
  return (
    <div className="card">
      <div className="card-header">
        <h2>Last pings</h2>
        <span className="hint">newest first · the last {PINGS} of 100 kept</span>
      </div>
      {monitor.pings.length === 0 ? (
        <EmptyState title="No pings yet">
          Pings appear here live as they come. Try the first curl line above to send one.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table stacked" aria-label="Pings">
            <thead>
              <tr>
                <th>Kind</th>
                <th>Time</th>
                <th className="num">Exit status</th>
                <th>From</th>
                <th>Log</th>
              </tr>
            </thead>
            <tbody>
              {monitor.pings.map((ping) => (
                <tr key={ping.id} data-ping-id={ping.id} data-kind={ping.kind}>
                  <td>
                    <span className={`badge ${KIND[ping.kind].tone}`}>
                      <span className="dot" />
                      {KIND[ping.kind].label}
                    </span>
                  </td>
                  <td className="nowrap" data-label="Time">
                    <div>{formatLocal(ping.at, { seconds: true })}</div>
                    <div className="sub">
                      <RelativeTime iso={ping.at} />
                    </div>
                  </td>
                  <td className="num mono" data-label="Exit status">
                    {ping.exitStatus ?? <span className="muted">—</span>}
                  </td>
                  <td className="wide" data-label="From">
                    <span className="mono small" title={ping.userAgent ?? undefined}>
                      {ping.remoteAddr ?? "—"}
                    </span>
                  </td>
                  <td data-label="Log">
                    {ping.body ? (
                      <button
                        type="button"
                        className="btn btn-sm"
                        aria-expanded={open === ping.id}
                        onClick={() => setOpen(open === ping.id ? null : ping.id)}
                      >
                        {open === ping.id ? "Hide log" : `View log (${ping.body.length} chars)`}
                      </button>
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {selected ? (
        <div className="card-body">
          <div className="muted small" style={{ marginBottom: 4 }}>
            Log of the {KIND[selected.kind].label.toLowerCase()} ping at {formatLocal(selected.at, { seconds: true })}
            {selected.userAgent ? ` · ${selected.userAgent}` : ""}
          </div>
          <pre className="output" data-testid="ping-log">
            {selected.body}
          </pre>
        </div>
      ) : null}
    </div>
  );
}

function ScheduleCard({ monitor, viewer }: { monitor: Monitor; viewer: string }) {
  // The cron in words, from the same preview the inspector uses.
  const [preview] = useQuery({
    query: PreviewScheduleQuery,
    variables: { cron: monitor.cron ?? "", timezone: monitor.timezone, count: 1, zones: [viewer] },
    pause: !monitor.cron,
  });
  return (
    <div className="card">
      <div className="card-header">
        <h2>Schedule</h2>
      </div>
      <div className="card-body">
        <dl className="dl">
          {monitor.cron ? (
            <>
              <dt>Expected</dt>
              <dd>
                <div>{preview.data?.previewSchedule.description ?? "…"}</div>
                <div className="sub">
                  <code>{monitor.cron}</code> in {monitor.timezone}
                </div>
              </dd>
            </>
          ) : (
            <>
              <dt>Expected</dt>
              <dd>every {formatInterval(monitor.periodSeconds ?? 0)} after the last ping</dd>
            </>
          )}
          <dt>Grace</dt>
          <dd>{formatInterval(monitor.graceSeconds)}: late until then, down after</dd>
          <dt>Duration</dt>
          <dd>
            {monitor.maxDurationSeconds
              ? `a /start not followed by success within ${formatInterval(monitor.maxDurationSeconds)} ran too long`
              : "not checked"}
          </dd>
          <dt>Owner</dt>
          <dd>{monitor.owner?.email ?? "—"}</dd>
          <dt>Created</dt>
          <dd>{formatInZone(monitor.createdAt, viewer, { year: true })}</dd>
        </dl>
      </div>
    </div>
  );
}
