import { describe, expect, it } from "vitest";
import { formatDuration, formatInZone, offsetOf, wallClock, zoneAbbreviation } from "./format";
import { mergeLogLines } from "./log";

describe("times", () => {
  it("reads the server's local time as written, with the year when it is not this year", () => {
    expect(wallClock("2027-03-28T03:00:00+02:00", true)).toBe("Sun 28 Mar 2027 03:00");
    expect(wallClock("2027-03-28T03:00:00+02:00", false)).toBe("Sun 28 Mar 03:00");
    expect(offsetOf("2027-03-28T03:00:00+02:00")).toBe("+02:00");
    expect(offsetOf("2027-03-28T01:00:00Z")).toBe("+00:00");
  });

  it("shows an instant in a zone with the zone's own abbreviation", () => {
    expect(formatInZone("2027-03-28T01:00:00Z", "Europe/Berlin")).toBe("Sun 28 Mar 03:00 CEST");
    expect(formatInZone("2027-01-15T14:00:00Z", "America/New_York")).toBe("Fri 15 Jan 09:00 EST");
    expect(zoneAbbreviation("2027-01-15T14:00:00Z", "UTC")).toBe("UTC");
    expect(formatInZone(null, "UTC")).toBe("—");
  });

  it("formats durations for people", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(12.4)).toBe("12 ms");
    expect(formatDuration(1530)).toBe("1.53 s");
    expect(formatDuration(95_000)).toBe("1 min 35 s");
  });

  it.each([
    [59_940, "59.9 s"],
    [59_960, "1 min"],
    [60_000, "1 min"],
    [60_400, "1 min"],
    [119_600, "2 min"],
    [125_000, "2 min 5 s"],
    [3_599_600, "1 h"],
    [3_600_000, "1 h"],
    [3_660_000, "1 h 1 min"],
    [7_170_000, "2 h"],
    [90_000_000, "25 h"],
  ])("leaves out a zero part: %d ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("live log lines", () => {
  it("appends in order and drops lines a resumed stream repeats", () => {
    const first = mergeLogLines([], [{ seq: 1 }, { seq: 2 }]);
    expect(mergeLogLines(first, [{ seq: 2 }, { seq: 3 }]).map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(mergeLogLines(first, [{ seq: 1 }])).toEqual(first);
  });
});
