// A monitor's state as a badge, coloured like run statuses (up green, down red, late amber).
import type { MonitorState } from "../gql/graphql";
import { monitorStateView } from "../lib/monitors";

export function MonitorBadge({ monitor }: { monitor: { state: MonitorState; paused: boolean; ranTooLong: boolean } }) {
  const view = monitorStateView(monitor);
  return (
    <span className={`badge ${view.tone}`} data-state={view.state} title={view.help}>
      <span className="dot" />
      {view.label}
    </span>
  );
}
