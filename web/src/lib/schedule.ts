// What the schedule field shows while the user types: the preview's errors placed next to
// the cron or timezone field, the description in words, and what DST does to the runs.
import type { OccurrenceFieldsFragment } from "../gql/graphql";
import { errorReport } from "../api/errors";

export interface CronFeedback {
  state: "empty" | "checking" | "valid" | "invalid";
  cronError: string | null;
  timezoneError: string | null;
  otherError: string | null;
  description: string | null;
  occurrences: OccurrenceFieldsFragment[];
  /** How many of the occurrences carry a DST note (moved, in a repeated hour, after a skip). */
  dstNotes: number;
}

export interface PreviewAnswer {
  fetching: boolean;
  /** The cron the answer (or error) is for; a stale answer is for an older text. */
  forCron: string;
  forTimezone: string;
  data?: { description: string; occurrences: OccurrenceFieldsFragment[] } | null;
  error?: unknown;
}

export function cronFeedback(cron: string, timezone: string, answer: PreviewAnswer | null): CronFeedback {
  const base: CronFeedback = {
    state: "checking",
    cronError: null,
    timezoneError: null,
    otherError: null,
    description: null,
    occurrences: [],
    dstNotes: 0,
  };
  if (!cron.trim()) return { ...base, state: "empty", cronError: null };
  const current = answer && answer.forCron === cron.trim() && answer.forTimezone === timezone;
  if (!answer || !current || (answer.fetching && !answer.data && !answer.error)) {
    return base;
  }
  if (answer.error) {
    const report = errorReport(answer.error);
    let cronError: string | null = null;
    let timezoneError: string | null = null;
    const other: string[] = [...report.general];
    for (const [field, message] of Object.entries(report.fields)) {
      if (field.endsWith("timezone")) timezoneError ??= message;
      else if (field.endsWith("cron") || field === "schedule") cronError ??= message;
      else other.push(message);
    }
    if (!cronError && !timezoneError && report.code === "validation_error") {
      cronError = other.shift() ?? null;
    }
    return {
      ...base,
      state: "invalid",
      cronError,
      timezoneError,
      otherError: other[0] ?? null,
    };
  }
  const occurrences = answer.data?.occurrences ?? [];
  return {
    ...base,
    state: "valid",
    description: answer.data?.description ?? null,
    occurrences,
    dstNotes: occurrences.filter((o) => o.note || o.dstShifted).length,
  };
}

/**
 * How DST touches one occurrence, read from the API's `dstShifted` and note (the server's
 * rules, app/domain/schedule.py): `moved` — its time does not exist (clocks go forward)
 * and it runs at the first instant after the gap; `repeated` — its time happens twice
 * (clocks go back) and it runs once or at both; `after-skip` — a wall-clock schedule
 * whose times in a gap were skipped, noted on the next run. Null when DST is not involved.
 */
export type DstEffect = "moved" | "repeated" | "after-skip";

export function dstEffect(occurrence: Pick<OccurrenceFieldsFragment, "note" | "dstShifted">): DstEffect | null {
  if (occurrence.dstShifted) return "moved";
  const note = occurrence.note ?? "";
  if (/happens twice/.test(note)) return "repeated";
  if (/not exist/.test(note)) return "after-skip"; // "does not exist", "do not exist"
  return null;
}

export interface DstCount {
  effect: DstEffect;
  count: number;
  /** "1 moved by DST": said only of times DST really moved. */
  text: string;
  /** What the clocks do, in a sentence. */
  explanation: string;
}

const DST_WORDS: Record<DstEffect, { text: (n: number) => string; explanation: string }> = {
  moved: {
    text: (n) => `${n} moved by DST`,
    explanation:
      "Clocks go forward: the scheduled time does not exist that day, so the run happens at the first time after the gap.",
  },
  repeated: {
    text: (n) => `${n} in an hour DST repeats`,
    explanation:
      "Clocks go back: the scheduled time happens twice that day; each note says whether the run happens once or at both.",
  },
  "after-skip": {
    text: (n) => `${n} after times DST skipped`,
    explanation:
      "Clocks go forward: the times this schedule would have run in the skipped hour do not happen; the next run says which.",
  },
};

/** The DST effects among the occurrences, counted by kind (in the order of DstEffect). */
export function dstCounts(occurrences: readonly Pick<OccurrenceFieldsFragment, "note" | "dstShifted">[]): DstCount[] {
  const counts = new Map<DstEffect, number>();
  for (const occurrence of occurrences) {
    const effect = dstEffect(occurrence);
    if (effect) counts.set(effect, (counts.get(effect) ?? 0) + 1);
  }
  return (["moved", "repeated", "after-skip"] as const)
    .filter((effect) => counts.has(effect))
    .map((effect) => {
      const count = counts.get(effect) as number;
      return { effect, count, text: DST_WORDS[effect].text(count), explanation: DST_WORDS[effect].explanation };
    });
}
