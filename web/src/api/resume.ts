// Where a subscription resumes after a reconnect: the last event id (or log seq) it saw.
//
// The change feed replays everything after the position a subscriber passes, so a
// subscription that reconnects with the last position it saw misses nothing and repeats
// nothing.

interface ResumePoint {
  /** The subscription's variable that says where to start. */
  variable: string;
  /** The field of each result that is the position to resume after. */
  field: string;
}

/** The subscriptions that can resume, by their root field. */
export const RESUME_POINTS: Record<string, ResumePoint> = {
  runEvents: { variable: "afterEventId", field: "eventId" },
  jobEvents: { variable: "afterEventId", field: "eventId" },
  monitorEvents: { variable: "afterEventId", field: "eventId" },
  runLog: { variable: "afterSeq", field: "seq" },
};

/**
 * Move `variables` past a result the subscription just delivered, so the next
 * (re)subscription starts after it. Only variables the operation declares are set.
 * Returns whether anything moved.
 */
export function advanceResumePoint(
  query: string,
  variables: Record<string, unknown>,
  data: unknown,
): boolean {
  if (!data || typeof data !== "object") return false;
  let moved = false;
  for (const [root, value] of Object.entries(data as Record<string, unknown>)) {
    const point = RESUME_POINTS[root];
    if (!point || !value || typeof value !== "object") continue;
    if (!new RegExp(`\\$${point.variable}\\b`).test(query)) continue;
    const position = (value as Record<string, unknown>)[point.field];
    if (position === undefined || position === null) continue;
    const current = variables[point.variable];
    if (current !== undefined && current !== null && Number(current) >= Number(position)) continue;
    variables[point.variable] = position;
    moved = true;
  }
  return moved;
}
