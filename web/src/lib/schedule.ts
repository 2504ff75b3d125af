// What the schedule field shows while the user types: the preview's errors placed next to
// the cron or timezone field, the description in words, and the DST-moved occurrences.
import type { OccurrenceFieldsFragment } from "../gql/graphql";
import { errorReport } from "../api/errors";

export interface CronFeedback {
  state: "empty" | "checking" | "valid" | "invalid";
  cronError: string | null;
  timezoneError: string | null;
  otherError: string | null;
  description: string | null;
  occurrences: OccurrenceFieldsFragment[];
  /** How many of the occurrences DST moved or doubled. */
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
