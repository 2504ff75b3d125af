import { CombinedError } from "@urql/core";
import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import type { OccurrenceFieldsFragment } from "../gql/graphql";
import { cronFeedback, dstCounts, dstEffect, type PreviewAnswer } from "./schedule";

function apiError(message: string, field: string | null, code = "validation_error") {
  return new CombinedError({ graphQLErrors: [new GraphQLError(message, { extensions: { code, field } })] });
}

const occurrence = (note: string | null): OccurrenceFieldsFragment => ({
  utc: "2027-03-28T01:00:00+00:00",
  local: "2027-03-28T03:00:00+02:00",
  timezone: "Europe/Berlin",
  abbreviation: "CEST",
  note,
  dstShifted: note !== null,
  zones: [],
});

function answer(patch: Partial<PreviewAnswer>): PreviewAnswer {
  return { fetching: false, forCron: "30 2 * * *", forTimezone: "Europe/Berlin", ...patch };
}

describe("cron validation display", () => {
  it("says nothing for an empty expression", () => {
    expect(cronFeedback("  ", "UTC", null).state).toBe("empty");
  });

  it("is checking while the answer is for an older text", () => {
    const stale = answer({ forCron: "30 2 * * ", data: { description: "old", occurrences: [] } });
    expect(cronFeedback("30 2 * * *", "Europe/Berlin", stale)).toMatchObject({ state: "checking", description: null });
    expect(cronFeedback("30 2 * * *", "UTC", answer({ data: { description: "x", occurrences: [] } })).state).toBe(
      "checking",
    );
  });

  it("puts a cron error next to the cron field", () => {
    const feedback = cronFeedback(
      "30 2 * * *",
      "Europe/Berlin",
      answer({ error: apiError("minute field: '61' is out of range 0-59", "schedule.cron") }),
    );
    expect(feedback).toMatchObject({
      state: "invalid",
      cronError: "minute field: '61' is out of range 0-59",
      timezoneError: null,
    });
  });

  it("puts a timezone error next to the timezone field", () => {
    const feedback = cronFeedback(
      "30 2 * * *",
      "Europe/Berlin",
      answer({ error: apiError("unknown timezone 'Mars/Base'", "schedule.timezone") }),
    );
    expect(feedback).toMatchObject({ cronError: null, timezoneError: "unknown timezone 'Mars/Base'" });
  });

  it("shows an input path with the argument prefix in the same place", () => {
    const feedback = cronFeedback("30 2 * * *", "Europe/Berlin", answer({ error: apiError("bad", "input.schedule.cron") }));
    expect(feedback.cronError).toBe("bad");
  });

  it("shows a validation error without a field next to the cron field", () => {
    const feedback = cronFeedback("30 2 * * *", "Europe/Berlin", answer({ error: apiError("no good", null) }));
    expect(feedback.cronError).toBe("no good");
  });

  it("describes a valid schedule and counts the occurrences DST moved", () => {
    const feedback = cronFeedback(
      "30 2 * * *",
      "Europe/Berlin",
      answer({
        data: {
          description: "At 02:30 every day",
          occurrences: [occurrence(null), occurrence("02:30 does not exist on 2027-03-28 in Europe/Berlin; runs at 03:00 CEST")],
        },
      }),
    );
    expect(feedback).toMatchObject({ state: "valid", description: "At 02:30 every day", dstNotes: 1 });
    expect(feedback.occurrences).toHaveLength(2);
  });
});

// The API's notes, as app/domain/schedule.py writes them (one per DST rule).
const MOVED = { note: "02:30 does not exist on 2027-03-28 in Europe/Berlin; runs at 03:00 CEST", dstShifted: true };
const ONCE = { note: "01:30 happens twice on 2026-11-01 in America/New_York; runs once, at the first 01:30 EDT", dstShifted: false };
const BOTH = {
  note: "01:30 happens twice on 2026-11-01 in America/New_York; this schedule runs at both, 01:30 EDT and 01:30 EST",
  dstShifted: false,
};
const SKIPPED = {
  note: "2 scheduled times from 02:00 to 02:30 do not exist on 2027-03-28 in Europe/Berlin; skipped, as this schedule follows the wall clock",
  dstShifted: false,
};
const PLAIN = { note: null, dstShifted: false };

describe("what DST does to a run", () => {
  it.each([
    [MOVED, "moved"],
    [ONCE, "repeated"],
    [BOTH, "repeated"],
    [SKIPPED, "after-skip"],
    [PLAIN, null],
  ])("%o is %s", (occurrence, effect) => {
    expect(dstEffect(occurrence)).toBe(effect);
  });

  it("says 'moved by DST' only of runs DST moved", () => {
    expect(dstCounts([PLAIN, MOVED, PLAIN]).map((c) => c.text)).toEqual(["1 moved by DST"]);
    // Autumn: the hour repeats, nothing moves.
    const autumn = dstCounts([PLAIN, BOTH, BOTH, PLAIN]);
    expect(autumn.map((c) => c.text)).toEqual(["2 in an hour DST repeats"]);
    expect(autumn[0]?.explanation).toMatch(/^Clocks go back/);
    expect(dstCounts([ONCE]).map((c) => c.text)).toEqual(["1 in an hour DST repeats"]);
    // A wall-clock schedule in spring: its gap times are skipped, the next run is not moved.
    const spring = dstCounts([SKIPPED]);
    expect(spring.map((c) => c.text)).toEqual(["1 after times DST skipped"]);
    expect(spring[0]?.explanation).toMatch(/^Clocks go forward/);
    expect(dstCounts([PLAIN, PLAIN])).toEqual([]);
  });

  it("counts each kind apart, moved first", () => {
    expect(dstCounts([SKIPPED, MOVED, ONCE, MOVED]).map((c) => c.text)).toEqual([
      "2 moved by DST",
      "1 in an hour DST repeats",
      "1 after times DST skipped",
    ]);
  });
});
