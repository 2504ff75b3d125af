// IANA timezone names for the timezone picker: today's spellings, the legacy ones people
// (and browsers) still use, and a search that finds "Asia/Kolkata" from "kol" or "calcutta".

/**
 * Zones IANA renamed, by their old name. Browsers list zones from CLDR, which keeps the old
 * spellings (Chromium offers "Asia/Calcutta" and "Europe/Kiev", and reports them as the
 * viewer's own zone): we show the current name. Only renames of the same place are here;
 * zones IANA merged into another city's (Europe/Vatican into Europe/Rome) keep their name.
 */
export const RENAMED_ZONES: Readonly<Record<string, string>> = {
  "Africa/Asmera": "Africa/Asmara",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Catamarca": "America/Argentina/Catamarca",
  "America/Cordoba": "America/Argentina/Cordoba",
  "America/Godthab": "America/Nuuk",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Jujuy": "America/Argentina/Jujuy",
  "America/Louisville": "America/Kentucky/Louisville",
  "America/Mendoza": "America/Argentina/Mendoza",
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "Europe/Kiev": "Europe/Kyiv",
  "Pacific/Enderbury": "Pacific/Kanton",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Pacific/Truk": "Pacific/Chuuk",
};

/** Other names people type for a zone (IANA's backward links), found by the search too. */
const OTHER_NAMES: Readonly<Record<string, string>> = {
  "US/Eastern": "America/New_York",
  "US/Central": "America/Chicago",
  "US/Mountain": "America/Denver",
  "US/Arizona": "America/Phoenix",
  "US/Pacific": "America/Los_Angeles",
  "US/Alaska": "America/Anchorage",
  "US/Hawaii": "Pacific/Honolulu",
  "Canada/Eastern": "America/Toronto",
  "Canada/Pacific": "America/Vancouver",
  "Europe/Zaporozhye": "Europe/Kyiv",
  "Europe/Uzhgorod": "Europe/Kyiv",
  GB: "Europe/London",
  Japan: "Asia/Tokyo",
  PRC: "Asia/Shanghai",
  GMT: "UTC",
  "Etc/UTC": "UTC",
  "Etc/GMT": "UTC",
  Zulu: "UTC",
};

/** The current IANA name for a zone name (the name itself unless it was renamed). */
export function canonicalZone(name: string): string {
  return RENAMED_ZONES[name] ?? name;
}

export interface ZoneEntry {
  /** The canonical IANA name, underscores and all: "America/New_York". */
  name: string;
  /** Older or other names for the same zone: "US/Eastern". */
  aliases: string[];
}

/** What the browser knows (any spelling), or a few zones where it cannot say. */
function browserZones(): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  try {
    if (supported) return supported("timeZone");
  } catch {
    // an old engine: fall through
  }
  return ["America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Tokyo"];
}

/** Every zone once, by its canonical name, sorted, with UTC first and its aliases. */
export function zoneEntries(names: readonly string[] = browserZones()): ZoneEntry[] {
  const aliases = new Map<string, string[]>();
  const add = (name: string) => {
    if (!aliases.has(name)) aliases.set(name, []);
  };
  add("UTC");
  for (const name of names) add(canonicalZone(name));
  for (const [old, current] of [...Object.entries(RENAMED_ZONES), ...Object.entries(OTHER_NAMES)]) {
    aliases.get(current)?.push(old);
  }
  const sorted = [...aliases.keys()].filter((n) => n !== "UTC").sort((a, b) => a.localeCompare(b));
  return ["UTC", ...sorted].map((name) => ({ name, aliases: aliases.get(name) ?? [] }));
}

/** Lower case, with "_", "-" and runs of spaces as one space: "new york" finds New_York. */
function normal(text: string): string {
  return text.toLowerCase().replace(/[_\s-]+/g, " ").trim();
}

export interface ZoneMatch {
  entry: ZoneEntry;
  /** The alias the query matched, when it matched only an alias ("Asia/Calcutta"). */
  via: string | null;
}

/**
 * The zones matching what was typed, best first: the city starting with it ("kol" →
 * Asia/Kolkata), then any part of the name starting with it, then the name containing
 * it, then an alias matching it ("calcutta" → Asia/Kolkata, via Asia/Calcutta).
 */
export function searchZones(entries: readonly ZoneEntry[], query: string): ZoneMatch[] {
  const q = normal(query);
  if (!q) return entries.map((entry) => ({ entry, via: null }));
  const ranked: { rank: number; match: ZoneMatch }[] = [];
  for (const entry of entries) {
    const name = normal(entry.name);
    const parts = name.split("/");
    let rank = -1;
    if (name === q) rank = 0;
    else if ((parts[parts.length - 1] as string).startsWith(q)) rank = 1;
    else if (parts.some((p) => p.startsWith(q)) || name.startsWith(q)) rank = 2;
    else if (name.includes(q)) rank = 3;
    if (rank >= 0) {
      ranked.push({ rank, match: { entry, via: null } });
      continue;
    }
    const alias = entry.aliases.find((a) => normal(a).split("/").some((p) => p.startsWith(q)) || normal(a).includes(q));
    if (alias) ranked.push({ rank: 4, match: { entry, via: alias } });
  }
  ranked.sort((a, b) => a.rank - b.rank);
  return ranked.map((r) => r.match);
}

/**
 * The canonical zone a typed name means, if it is a zone's name or alias in any case or
 * with spaces for underscores ("asia/calcutta" → "Asia/Kolkata"); null when it is none.
 */
export function resolveZone(entries: readonly ZoneEntry[], typed: string): string | null {
  const q = normal(typed);
  if (!q) return null;
  for (const entry of entries) {
    if (normal(entry.name) === q || entry.aliases.some((a) => normal(a) === q)) return entry.name;
  }
  return null;
}

const offsetFormats = new Map<string, Intl.DateTimeFormat | null>();

/** The zone's offset from UTC now: "UTC+05:30", "UTC-08:00", "UTC+00:00" ("" if unknown). */
export function currentOffset(zone: string, now: Date = new Date()): string {
  let format = offsetFormats.get(zone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    } catch {
      format = null;
    }
    offsetFormats.set(zone, format);
  }
  const name = format?.formatToParts(now).find((p) => p.type === "timeZoneName")?.value ?? "";
  if (name === "GMT") return "UTC+00:00"; // some engines drop a zero offset
  return name.replace(/^GMT/, "UTC");
}
