import { describe, expect, it } from "vitest";
import { FAILURE_STATUSES, STATUS_FILTERS, emptyTitle, parseStatusFilter, parseTimeRange } from "./RunsPage";

describe("the Runs page's filters", () => {
  it("shows failures first by default, over the last 7 days", () => {
    expect(parseStatusFilter(null)).toBe("failures");
    expect(parseTimeRange(null)).toBe("7d");
    expect(STATUS_FILTERS[0]).toMatchObject({ value: "failures", statuses: FAILURE_STATUSES });
    expect(FAILURE_STATUSES).toEqual(["FAILED", "TIMED_OUT", "LOST"]);
  });

  it("reads what the URL says, and ignores what it does not know", () => {
    expect(parseStatusFilter("all")).toBe("all");
    expect(parseStatusFilter("TIMED_OUT")).toBe("TIMED_OUT");
    expect(parseStatusFilter("bogus")).toBe("failures");
    expect(parseTimeRange("1h")).toBe("1h");
    expect(parseTimeRange("1y")).toBe("7d");
  });

  it.each([
    ["failures", "24h", "No failed runs in the last 24 hours"],
    ["all", "all", "No runs"],
    ["active", "1h", "No runs in progress"],
    ["TIMED_OUT", "30d", "No timed out runs in the last 30 days"],
  ] as const)("an empty %s / %s result reads %j", (filter, range, title) => {
    expect(emptyTitle(filter, range)).toBe(title);
  });
});
