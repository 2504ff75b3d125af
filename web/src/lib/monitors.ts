// Heartbeat monitors: their state in words and colours, schedules and durations as people
// read them, the curl lines that ping them, and the create/edit form's state, checks and
// the MonitorInput it sends. Pure functions, so the rules are tested without a browser.
import type { MonitorInput, MonitorState } from "../gql/graphql";

// ---- state -----------------------------------------------------------------------------------

/** What the list and the detail page show: the API's state, or "PAUSED" over it. */
export type MonitorShownState = MonitorState | "PAUSED";

export const MONITOR_STATE_LABEL: Record<MonitorShownState, string> = {
  NEW: "New",
  UP: "Up",
  LATE: "Late",
  DOWN: "Down",
  RUNNING: "Running",
  PAUSED: "Paused",
};

/** The same tones as run statuses (components/status.tsx): green up, red down. */
export const MONITOR_STATE_TONE: Record<MonitorShownState, string> = {
  NEW: "info",
  UP: "ok",
  LATE: "warn",
  DOWN: "bad",
  RUNNING: "accent running",
  PAUSED: "warn",
};

export const MONITOR_STATE_HELP: Record<MonitorShownState, string> = {
  NEW: "No ping yet: nothing is expected until the first one.",
  UP: "The last run succeeded.",
  LATE: "The expected ping has not come; still within the grace time.",
  DOWN: "The grace time passed without a ping, or the job reported failure.",
  RUNNING: "The job sent /start and has not finished yet.",
  PAUSED: "Never late or down until resumed (a ping resumes it).",
};

export interface MonitorStateView {
  state: MonitorShownState;
  label: string;
  tone: string;
  help: string;
}

export function monitorStateView(monitor: { state: MonitorState; paused: boolean; ranTooLong: boolean }): MonitorStateView {
  const state: MonitorShownState = monitor.paused ? "PAUSED" : monitor.state;
  let label = MONITOR_STATE_LABEL[state];
  let help = MONITOR_STATE_HELP[state];
  if (!monitor.paused && monitor.ranTooLong) {
    label = state === "DOWN" ? "Down: ran too long" : "Ran too long";
    help = "A /start was not followed by success within the expected duration.";
  }
  return { state, label, tone: MONITOR_STATE_TONE[state], help };
}

// ---- durations and schedules ------------------------------------------------------------------

const PARTS: [number, string][] = [
  [86_400, "d"],
  [3_600, "h"],
  [60, "min"],
  [1, "s"],
];

/** 5400 → "1 h 30 min", 86400 → "1 d", 0 → "0 s": exact, largest units first. */
export function formatInterval(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  let rest = Math.round(seconds);
  if (rest === 0) return "0 s";
  const out: string[] = [];
  for (const [size, unit] of PARTS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      out.push(`${count} ${unit}`);
      rest -= count * size;
    }
  }
  return out.join(" ");
}

export interface MonitorSchedule {
  cron?: string | null;
  timezone: string;
  periodSeconds?: number | null;
}

/** "30 2 * * * · Europe/Berlin" or "every 1 h" (from the last ping). */
export function monitorScheduleText(monitor: MonitorSchedule): string {
  if (monitor.cron) return `${monitor.cron} · ${monitor.timezone}`;
  if (monitor.periodSeconds !== null && monitor.periodSeconds !== undefined) return `every ${formatInterval(monitor.periodSeconds)}`;
  return "—";
}

// ---- ping URLs -----------------------------------------------------------------------------------

/** The URL with its secret uuid hidden: "https://dts.example.com/ping/••••••••-…". */
export function maskPingUrl(url: string): string {
  const cut = url.lastIndexOf("/ping/");
  if (cut < 0) return "••••••••";
  const key = url.slice(cut + "/ping/".length);
  return `${url.slice(0, cut)}/ping/${key.slice(0, 4)}${"•".repeat(Math.max(8, key.length - 4))}`;
}

export interface PingExample {
  title: string;
  command: string;
}

/** The curl lines for the ping URL: success, start, fail, exit status with the output as log. */
export function pingExamples(url: string): PingExample[] {
  const curl = "curl -fsS -m 10 --retry 5 -o /dev/null";
  return [
    { title: "Success (after the job)", command: `your-job && ${curl} ${url}` },
    { title: "Started (for durations and “ran too long”)", command: `${curl} ${url}/start` },
    { title: "Failed", command: `${curl} ${url}/fail` },
    {
      title: "Exit status, with the output as the ping's log",
      command: `out=$(your-job 2>&1); rc=$?\nprintf '%s' "$out" | tail -c 100000 | ${curl} --data-binary @- ${url}/$rc`,
    },
  ];
}

// ---- the form --------------------------------------------------------------------------------------

export type DurationUnit = "s" | "min" | "h" | "d";

export const UNIT_SECONDS: Record<DurationUnit, number> = { s: 1, min: 60, h: 3600, d: 86_400 };

export const UNIT_LABEL: Record<DurationUnit, string> = { s: "seconds", min: "minutes", h: "hours", d: "days" };

/** A duration as typed: the amount (a string, checked before sending) and its unit. */
export interface DurationValue {
  amount: string;
  unit: DurationUnit;
}

/** 300 → 5 min, 5400 → 90 min, 86400 → 1 d: the largest unit that divides it exactly. */
export function durationFromSeconds(seconds: number | null | undefined, fallback: DurationUnit = "min"): DurationValue {
  if (seconds === null || seconds === undefined) return { amount: "", unit: fallback };
  for (const unit of ["d", "h", "min"] as const) {
    const size = UNIT_SECONDS[unit];
    if (seconds > 0 && seconds % size === 0) return { amount: String(seconds / size), unit };
  }
  return { amount: String(seconds), unit: "s" };
}

/** The seconds a duration stands for; null when empty, NaN when not a number. */
export function durationSeconds(value: DurationValue): number | null {
  const text = value.amount.trim();
  if (!text) return null;
  if (!/^\d+(\.\d+)?$/.test(text)) return Number.NaN;
  return Number(text) * UNIT_SECONDS[value.unit];
}

export type ScheduleKind = "cron" | "period";

export interface MonitorFormState {
  name: string;
  kind: ScheduleKind;
  cron: string;
  timezone: string;
  period: DurationValue;
  grace: DurationValue;
  /** Empty: no "ran too long" check. */
  maxDuration: DurationValue;
}

/** The server's rules (app/domain/monitor_state.py), checked before sending. */
export const MONITOR_LIMITS = {
  name: 200,
  period: [60, 366 * 86_400],
  grace: [0, 366 * 86_400],
  maxDuration: [1, 366 * 86_400],
} as const;

export const MONITOR_DEFAULTS = { cron: "0 3 * * *", periodSeconds: 86_400, graceSeconds: 300 };

export function emptyMonitorForm(timezone: string): MonitorFormState {
  return {
    name: "",
    kind: "cron",
    cron: MONITOR_DEFAULTS.cron,
    timezone,
    period: durationFromSeconds(MONITOR_DEFAULTS.periodSeconds),
    grace: durationFromSeconds(MONITOR_DEFAULTS.graceSeconds),
    maxDuration: { amount: "", unit: "min" },
  };
}

export interface EditableMonitor {
  name: string;
  cron?: string | null;
  timezone: string;
  periodSeconds?: number | null;
  graceSeconds: number;
  maxDurationSeconds?: number | null;
}

export function formFromMonitor(monitor: EditableMonitor): MonitorFormState {
  const period = monitor.periodSeconds ?? null;
  return {
    name: monitor.name,
    kind: monitor.cron ? "cron" : "period",
    cron: monitor.cron ?? MONITOR_DEFAULTS.cron,
    timezone: monitor.timezone,
    period: durationFromSeconds(period ?? MONITOR_DEFAULTS.periodSeconds),
    grace: durationFromSeconds(monitor.graceSeconds),
    maxDuration: durationFromSeconds(monitor.maxDurationSeconds ?? null),
  };
}

function rangeError(seconds: number | null, [low, high]: readonly [number, number], allowed: string, required: boolean): string | null {
  if (seconds === null) return required ? "required" : null;
  if (Number.isNaN(seconds)) return "must be a number";
  if (seconds < low || seconds > high) return `must be ${allowed}`;
  return null;
}

/** Problems keyed like the API's `extensions.field` (without `input.`): name, cron, periodSeconds… */
export function validateMonitorForm(form: MonitorFormState): Record<string, string> {
  const errors: Record<string, string> = {};
  const name = form.name.trim();
  if (!name) errors.name = "a monitor needs a name";
  else if (name.length > MONITOR_LIMITS.name) errors.name = `must be at most ${MONITOR_LIMITS.name} characters`;
  if (form.kind === "cron") {
    if (!form.cron.trim()) errors.cron = "a cron expression is required (or choose a period)";
    if (!form.timezone.trim()) errors.timezone = "choose a timezone";
  } else {
    const period = rangeError(durationSeconds(form.period), MONITOR_LIMITS.period, "from 60 seconds to 366 days", true);
    if (period) errors.periodSeconds = period;
  }
  const grace = rangeError(durationSeconds(form.grace), MONITOR_LIMITS.grace, "from 0 seconds to 366 days", true);
  if (grace) errors.graceSeconds = grace;
  const longest = rangeError(durationSeconds(form.maxDuration), MONITOR_LIMITS.maxDuration, "from 1 second to 366 days", false);
  if (longest) errors.maxDurationSeconds = longest;
  return errors;
}

/**
 * The input for createMonitor / updateMonitor. Every field is sent, the unused schedule
 * kind as null, so an edit that switches cron ↔ period or clears the duration sticks.
 */
export function toMonitorInput(form: MonitorFormState): MonitorInput {
  const cron = form.kind === "cron";
  return {
    name: form.name.trim(),
    cron: cron ? form.cron.trim() : null,
    timezone: form.timezone.trim() || "UTC",
    periodSeconds: cron ? null : durationSeconds(form.period),
    graceSeconds: durationSeconds(form.grace) ?? MONITOR_DEFAULTS.graceSeconds,
    maxDurationSeconds: durationSeconds(form.maxDuration),
  };
}

/** The API's field keys this form shows next to a field; the others go to the banner. */
export const MONITOR_FORM_FIELDS = ["name", "cron", "timezone", "periodSeconds", "graceSeconds", "maxDurationSeconds"];

const SUMMARY_ORDER: MonitorShownState[] = ["DOWN", "LATE", "RUNNING", "UP", "NEW", "PAUSED"];

/** "1 down · 2 late · 3 up": how many monitors are in each shown state, trouble first. */
export function stateSummary(monitors: readonly { state: MonitorState; paused: boolean; ranTooLong: boolean }[]): string {
  const counts = new Map<MonitorShownState, number>();
  for (const monitor of monitors) {
    const { state } = monitorStateView(monitor);
    counts.set(state, (counts.get(state) ?? 0) + 1);
  }
  return SUMMARY_ORDER.filter((state) => counts.has(state))
    .map((state) => `${counts.get(state)} ${MONITOR_STATE_LABEL[state].toLowerCase()}`)
    .join(" · ");
}
