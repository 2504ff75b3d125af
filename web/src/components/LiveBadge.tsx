// The header's connection badge: Live / Reconnecting… / Offline since HH:MM.
//
// It also holds the page's one always-on subscription (job changes), so the live
// connection stays open — and its state stays true — on pages that subscribe to nothing.
import { useSubscription } from "urql";
import { describeConnection, useConnection, type ConnectionState } from "../api/connection";
import { JobEventsSubscription } from "../api/operations";
import { useNow } from "../lib/clock";

const ALWAYS_ON = { query: JobEventsSubscription, variables: { afterEventId: null } };

/** Keeps the live connection open while the dashboard is shown. */
function KeepAlive() {
  useSubscription(ALWAYS_ON);
  return null;
}

export function ConnectionBadge({
  state,
  now,
  onRetry,
}: {
  state: ConnectionState;
  now: number;
  onRetry?: () => void;
}) {
  const { label, detail } = describeConnection(state, now);
  const waiting = state.status === "offline" || state.status === "reconnecting";
  return (
    <span className="conn-badge" data-state={state.status} title={detail} role="status" aria-live="polite">
      <span className="conn-dot" aria-hidden="true" />
      <span className="conn-label" data-testid="connection-state">
        {label}
      </span>
      <span className="visually-hidden">. {detail}</span>
      {waiting && onRetry && state.retryAt !== null ? (
        <button type="button" className="conn-retry" onClick={onRetry}>
          Retry now
        </button>
      ) : null}
    </span>
  );
}

export function LiveBadge() {
  const { state, monitor } = useConnection();
  // While waiting to reconnect, the "next attempt in N s" countdown moves every second.
  const now = useNow(state.status === "live" ? 60_000 : 1000);
  return (
    <>
      <KeepAlive />
      <ConnectionBadge state={state} now={now} onRetry={monitor ? () => monitor.retryNow() : undefined} />
    </>
  );
}
