import { describe, expect, it } from "vitest";
import { canonicalZone, currentOffset, resolveZone, searchZones, zoneEntries } from "./timezones";

// What Chromium and Node list: CLDR's names, some of them the old spellings.
const BROWSER = ["Asia/Calcutta", "Europe/Kiev", "America/New_York", "America/Buenos_Aires", "Europe/Berlin", "Asia/Kolkata"];

describe("zone names", () => {
  const entries = zoneEntries(BROWSER);
  const names = entries.map((e) => e.name);

  it("lists each zone once, by its current name, UTC first", () => {
    expect(names).toEqual(["UTC", "America/Argentina/Buenos_Aires", "America/New_York", "Asia/Kolkata", "Europe/Berlin", "Europe/Kyiv"]);
    expect(names).not.toContain("Asia/Calcutta");
  });

  it("keeps the underscores of a name", () => {
    expect(names).toContain("America/New_York");
    expect(searchZones(entries, "york")[0]?.entry.name).toBe("America/New_York");
  });

  it("renames only the zones IANA renamed", () => {
    expect(canonicalZone("Asia/Calcutta")).toBe("Asia/Kolkata");
    expect(canonicalZone("Europe/Kiev")).toBe("Europe/Kyiv");
    expect(canonicalZone("Europe/Vatican")).toBe("Europe/Vatican");
    expect(canonicalZone("Mars/Base")).toBe("Mars/Base");
  });

  it("remembers the old names as aliases", () => {
    expect(entries.find((e) => e.name === "Asia/Kolkata")?.aliases).toContain("Asia/Calcutta");
  });
});

describe("searching zones", () => {
  const entries = zoneEntries(BROWSER);
  const first = (query: string) => searchZones(entries, query)[0];

  it.each([
    ["kol", "Asia/Kolkata"],
    ["KOLKATA", "Asia/Kolkata"],
    ["kyiv", "Europe/Kyiv"],
    ["new york", "America/New_York"],
    ["new_york", "America/New_York"],
    ["buenos", "America/Argentina/Buenos_Aires"],
    ["utc", "UTC"],
  ])("finds %s → %s", (query, zone) => {
    expect(first(query)?.entry.name).toBe(zone);
  });

  it("finds a zone by an old name and says which", () => {
    expect(first("calcutta")).toEqual({ entry: expect.objectContaining({ name: "Asia/Kolkata" }), via: "Asia/Calcutta" });
    expect(first("kiev")?.entry.name).toBe("Europe/Kyiv");
    expect(first("US/Eastern")?.entry.name).toBe("America/New_York");
  });

  it("ranks a city starting with the text before a name merely containing it", () => {
    const found = searchZones(zoneEntries(["America/Detroit", "Europe/Berlin", "America/Edmonton"]), "ber");
    expect(found[0]?.entry.name).toBe("Europe/Berlin");
  });

  it("finds nothing for nonsense, and everything for nothing", () => {
    expect(searchZones(entries, "zzz")).toEqual([]);
    expect(searchZones(entries, "  ")).toHaveLength(entries.length);
  });
});

describe("resolving a typed zone", () => {
  const entries = zoneEntries(BROWSER);

  it.each([
    ["Asia/Kolkata", "Asia/Kolkata"],
    ["Asia/Calcutta", "Asia/Kolkata"],
    ["asia/calcutta", "Asia/Kolkata"],
    ["america/new york", "America/New_York"],
    ["Europe/Kiev", "Europe/Kyiv"],
  ])("%s → %s", (typed, zone) => {
    expect(resolveZone(entries, typed)).toBe(zone);
  });

  it("is null for a name that is no zone (the server then says so)", () => {
    expect(resolveZone(entries, "Mars/Base")).toBeNull();
    expect(resolveZone(entries, "kol")).toBeNull();
  });
});

describe("offsets", () => {
  it("says the zone's offset from UTC at an instant", () => {
    expect(currentOffset("Asia/Kolkata", new Date("2027-01-15T12:00:00Z"))).toBe("UTC+05:30");
    expect(currentOffset("America/New_York", new Date("2027-01-15T12:00:00Z"))).toBe("UTC-05:00");
    expect(currentOffset("UTC", new Date("2027-01-15T12:00:00Z"))).toBe("UTC+00:00");
    expect(currentOffset("Mars/Base")).toBe("");
  });
});
