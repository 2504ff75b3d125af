// Run log lines arriving over a subscription that may resume (and so repeat lines).

export interface LogLineLike {
  seq: number;
}

/** Merge new log lines in order of seq, dropping any already seen. */
export function mergeLogLines<T extends LogLineLike>(current: readonly T[], incoming: readonly T[]): T[] {
  const last = current.length ? (current[current.length - 1] as T).seq : 0;
  const ordered = incoming.every((line, i) => i === 0 || line.seq > (incoming[i - 1] as T).seq);
  if (ordered && incoming.every((line) => line.seq > last)) {
    return incoming.length ? [...current, ...incoming] : (current as T[]);
  }
  const bySeq = new Map<number, T>(current.map((line) => [line.seq, line]));
  for (const line of incoming) bySeq.set(line.seq, line);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}
