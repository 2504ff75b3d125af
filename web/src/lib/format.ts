// Times, durations and zones as people read them.
import { canonicalZone, zoneEntries } from "./timezones";

/** The viewer's zone by its current IANA name (browsers may say "Asia/Calcutta"). */
export function viewerZone(): string {
  return canonicalZone(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
}

/** Every zone by its current IANA name, UTC first (the picker's list). */
export function allTimezones(): string[] {
  return zoneEntries().map((entry) => entry.name);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string, withYear: boolean, seconds: boolean): Intl.DateTimeFormat {
  const key = `${zone}|${withYear}|${seconds}`;
  let found = formatters.get(key);
  if (!found) {
    found = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone,
      weekday: "short",
      day: "numeric",
      month: "short",
      year: withYear ? "numeric" : undefined,
      hour: "2-digit",
      minute: "2-digit",
      second: seconds ? "2-digit" : undefined,
      hourCycle: "h23",
    });
    formatters.set(key, found);
  }
  return found;
}

/** "Sat 28 Mar 03:00 CEST": an instant as the clock on the wall in `zone` shows it. */
export function formatInZone(
  iso: string | null | undefined,
  zone: string,
  options: { year?: boolean; seconds?: boolean; zoneName?: boolean } = {},
): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  try {
    const parts = formatter(zone, options.year ?? false, options.seconds ?? false).formatToParts(date);
    const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
    const time = [get("hour"), get("minute"), options.seconds ? get("second") : ""].filter(Boolean).join(":");
    const day = [get("weekday"), get("day"), get("month"), options.year ? get("year") : ""].filter(Boolean).join(" ");
    const name = options.zoneName === false ? "" : ` ${zoneAbbreviation(iso, zone)}`;
    return `${day} ${time}${name}`;
  } catch {
    return date.toISOString();
  }
}

/** An instant in the viewer's own zone. */
export function formatLocal(iso: string | null | undefined, options?: { year?: boolean; seconds?: boolean }) {
  return formatInZone(iso, viewerZone(), options);
}

const zoneNames = new Map<string, Intl.DateTimeFormat>();

function zoneName(iso: string, zone: string, locale: string): string {
  const key = `${locale}|${zone}`;
  let names = zoneNames.get(key);
  if (!names) {
    names = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: "short" });
    zoneNames.set(key, names);
  }
  return names.formatToParts(new Date(iso)).find((p) => p.type === "timeZoneName")?.value ?? zone;
}

/**
 * The zone's short name at that instant: "EST", "CEST", else "GMT+9". Each locale knows
 * the abbreviations of its own region, so American and European names are both tried.
 */
export function zoneAbbreviation(iso: string, zone: string): string {
  try {
    let name = zoneName(iso, zone, "en-US");
    if (/^GMT[+-]/.test(name)) name = zoneName(iso, zone, "en-GB");
    return name === "GMT" && (zone === "UTC" || zone === "Etc/UTC") ? "UTC" : name;
  } catch {
    return zone;
  }
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * "Sun 28 Mar 2027 03:00" from an ISO local time with its offset ("2027-03-28T03:00:00+02:00"),
 * read as written: the wall-clock time the server computed, not re-derived here.
 */
export function wallClock(isoLocal: string, withYear: boolean | "auto" = "auto"): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(isoLocal);
  if (!match) return isoLocal;
  const [, y, mo, d, h, mi, s] = match;
  const weekday = WEEKDAYS[new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDay()];
  const month = MONTHS[Number(mo) - 1];
  const seconds = s && s !== "00" ? `:${s}` : "";
  const year = withYear === "auto" ? Number(y) !== new Date().getFullYear() : withYear;
  return `${weekday} ${Number(d)} ${month}${year ? ` ${y}` : ""} ${h}:${mi}${seconds}`;
}

/** "+02:00" from an ISO time with an offset ("Z" reads as "+00:00"). */
export function offsetOf(isoLocal: string): string {
  const match = /([+-]\d{2}:\d{2}|Z)$/.exec(isoLocal);
  if (!match) return "";
  return match[1] === "Z" ? "+00:00" : (match[1] as string);
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 59.95) return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`;
  // Whole seconds first, so 119.6 s is "2 min", not "1 min 60 s"; a zero part is left out.
  const total = Math.round(seconds);
  if (total < 3600) {
    const rest = total % 60;
    return rest ? `${Math.floor(total / 60)} min ${rest} s` : `${total / 60} min`;
  }
  const minutes = Math.round(total / 60);
  const rest = minutes % 60;
  return rest ? `${Math.floor(minutes / 60)} h ${rest} min` : `${minutes / 60} h`;
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "in 5 minutes", "2 hours ago". */
export function fromNow(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "";
  const diff = new Date(iso).getTime() - now;
  const abs = Math.abs(diff);
  if (abs < 45_000) return diff > 15_000 ? "in a few seconds" : "just now";
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["minute", 60_000],
    ["hour", 3_600_000],
    ["day", 86_400_000],
    ["month", 30 * 86_400_000],
    ["year", 365 * 86_400_000],
  ];
  let chosen: [Intl.RelativeTimeFormatUnit, number] = units[0] as [Intl.RelativeTimeFormatUnit, number];
  for (const unit of units) if (abs >= unit[1] * 0.9) chosen = unit;
  return relative.format(Math.round(diff / chosen[1]), chosen[0]);
}

export function pluralize(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds % 1 === 0 ? seconds : seconds.toFixed(1)} s`;
  return formatDuration(seconds * 1000);
}
