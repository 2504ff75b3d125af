// The create/edit job form: its state, the defaults, client-side checks, and the JobInput
// it sends. Pure functions, so the rules are tested without a browser.
import type {
  ConcurrencyPolicy,
  JobEditFieldsFragment,
  JobInput,
  JobType,
  MisfirePolicy,
} from "../gql/graphql";
import { headerErrors, headersFromApi, headersToInput, rowKey, type HeaderRow } from "./headers";

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

/**
 * The server's defaults (app/domain/job_input.py, app/domain/retry.py); the API does not
 * publish them, so this is the one place the dashboard keeps them. Retries ride out a
 * short outage: 3 attempts, the first retry after 30 s, then 2 min (factor 4, 10 min cap).
 */
export const DEFAULTS = {
  cron: "*/5 * * * *",
  retry: { maxAttempts: 3, initialDelay: 30, maxDelay: 600, multiplier: 4 },
  timeoutSeconds: 60,
  concurrency: "ALLOW" as ConcurrencyPolicy,
  misfire: "COALESCE" as MisfirePolicy,
  misfireLimit: 100,
};

export const LIMITS = {
  maxAttempts: [1, 100],
  initialDelay: [0, 86400],
  maxDelay: [0, 86400],
  multiplier: [1, 10],
  timeoutSeconds: [1, 86400],
  misfireLimit: [1, 1000],
} as const;

export interface EnvRow {
  key: string;
  name: string;
  value: string;
}

export interface ArgRow {
  key: string;
  value: string;
}

export interface JobFormState {
  type: JobType;
  name: string;
  description: string;
  cron: string;
  timezone: string;
  paused: boolean;
  http: {
    method: string;
    url: string;
    headers: HeaderRow[];
    body: string;
    bodyIsJson: boolean;
  };
  script: {
    command: string;
    args: ArgRow[];
    cwd: string;
    env: EnvRow[];
  };
  /** Numbers are kept as typed (strings) and checked before sending. */
  retry: { maxAttempts: string; initialDelay: string; maxDelay: string; multiplier: string };
  timeoutSeconds: string;
  concurrency: ConcurrencyPolicy;
  misfire: MisfirePolicy;
  misfireLimit: string;
}

export function emptyForm(timezone: string): JobFormState {
  return {
    type: "HTTP",
    name: "",
    description: "",
    cron: DEFAULTS.cron,
    timezone,
    paused: false,
    http: { method: "GET", url: "", headers: [], body: "", bodyIsJson: false },
    script: { command: "", args: [], cwd: "./", env: [] },
    retry: defaultRetry(),
    timeoutSeconds: String(DEFAULTS.timeoutSeconds),
    concurrency: DEFAULTS.concurrency,
    misfire: DEFAULTS.misfire,
    misfireLimit: String(DEFAULTS.misfireLimit),
  };
}

export function formFromJob(job: JobEditFieldsFragment): JobFormState {
  const base = emptyForm(job.timezone);
  return {
    ...base,
    type: job.type,
    name: job.name,
    description: job.description,
    cron: job.schedule.cron ?? "",
    timezone: job.schedule.timezone,
    paused: job.paused,
    http: job.http
      ? {
          method: job.http.method,
          url: job.http.url,
          headers: headersFromApi(job.http.headers),
          body: job.http.body ?? "",
          bodyIsJson: job.http.bodyIsJson,
        }
      : base.http,
    script: job.script
      ? {
          command: job.script.command,
          args: job.script.args.map((value) => ({ key: rowKey("a"), value })),
          cwd: job.script.cwd,
          env: job.script.env.map((e) => ({ key: rowKey("e"), name: e.name, value: e.value })),
        }
      : base.script,
    retry: {
      maxAttempts: String(job.retry.maxAttempts),
      initialDelay: String(job.retry.initialDelay),
      maxDelay: String(job.retry.maxDelay),
      multiplier: String(job.retry.multiplier),
    },
    timeoutSeconds: String(job.timeoutSeconds),
    concurrency: job.concurrency,
    misfire: job.misfire,
    misfireLimit: String(job.misfireLimit),
  };
}

/** null when the body is empty or valid JSON; else what is wrong and where. */
export function jsonBodyError(body: string): string | null {
  if (!body.trim()) return null;
  try {
    JSON.parse(body);
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return `not valid JSON: ${message.replace(/^JSON\.parse: /, "")}`;
  }
}

/** Pretty-print a JSON body (unchanged when it does not parse). */
export function formatJsonBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function numberError(raw: string, [lo, hi]: readonly [number, number], whole = false): string | null {
  if (!raw.trim()) return "required";
  const value = Number(raw);
  if (!Number.isFinite(value)) return `'${raw}' is not a number`;
  if (whole && !Number.isInteger(value)) return "must be a whole number";
  if (value < lo || value > hi) return `must be from ${lo} to ${hi}`;
  return null;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Client-side checks, keyed like the server's errors; the server checks everything again. */
export function validateForm(state: JobFormState): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!state.name.trim()) errors.name = "a name is required";
  if (!state.cron.trim()) errors["schedule.cron"] = "a cron expression is required, e.g. */5 * * * *";
  if (!state.timezone) errors["schedule.timezone"] = "choose a timezone";
  if (state.type === "HTTP") {
    const url = state.http.url.trim();
    if (!url) errors["http.url"] = "a URL is required, e.g. https://example.com/hook";
    else if (!/^https?:\/\/[^\s/]+/i.test(url)) errors["http.url"] = "the URL must start with http:// or https://";
    if (state.http.bodyIsJson) {
      const bodyError = jsonBodyError(state.http.body);
      if (bodyError) errors["http.body"] = bodyError;
    }
    Object.assign(errors, headerErrors(state.http.headers));
  } else {
    if (!state.script.command.trim()) errors["script.command"] = 'a command is required, e.g. "python3"';
    const names = new Set<string>();
    for (const row of state.script.env) {
      const name = row.name.trim();
      if (!name && !row.value) continue;
      if (!ENV_NAME.test(name)) errors[`script.env.${name}`] = `'${name}' is not a valid variable name`;
      else if (names.has(name)) errors[`script.env.${name}`] = `${name} is set twice`;
      names.add(name);
    }
  }
  const checks: [string, string, readonly [number, number], boolean][] = [
    ["retry.maxAttempts", state.retry.maxAttempts, LIMITS.maxAttempts, true],
    ["retry.initialDelay", state.retry.initialDelay, LIMITS.initialDelay, false],
    ["retry.maxDelay", state.retry.maxDelay, LIMITS.maxDelay, false],
    ["retry.multiplier", state.retry.multiplier, LIMITS.multiplier, false],
    ["timeoutSeconds", state.timeoutSeconds, LIMITS.timeoutSeconds, false],
    ["misfireLimit", state.misfireLimit, LIMITS.misfireLimit, true],
  ];
  for (const [key, raw, range, whole] of checks) {
    const message = numberError(raw, range, whole);
    if (message) errors[key] = message;
  }
  return errors;
}

/** The createJob/updateJob input. An edit sends every field: the form shows them all. */
export function toJobInput(state: JobFormState, options: { editing?: boolean } = {}): JobInput {
  const input: JobInput = {
    name: state.name.trim(),
    description: state.description,
    schedule: { cron: state.cron.trim(), timezone: state.timezone },
    retry: {
      maxAttempts: Number(state.retry.maxAttempts),
      initialDelay: Number(state.retry.initialDelay),
      maxDelay: Number(state.retry.maxDelay),
      multiplier: Number(state.retry.multiplier),
    },
    timeoutSeconds: Number(state.timeoutSeconds),
    concurrency: state.concurrency,
    misfire: state.misfire,
    misfireLimit: Number(state.misfireLimit),
  };
  if (!options.editing) {
    input.type = state.type;
    input.paused = state.paused;
  }
  if (state.type === "HTTP") {
    const body = state.http.body;
    input.http = {
      method: state.http.method,
      url: state.http.url.trim(),
      headers: headersToInput(state.http.headers),
      body: body.trim() ? body : null,
      bodyIsJson: state.http.bodyIsJson && body.trim() !== "",
    };
  } else {
    input.script = {
      command: state.script.command.trim(),
      args: state.script.args.map((a) => a.value),
      cwd: state.script.cwd.trim() || "./",
      env: state.script.env
        .filter((e) => e.name.trim() || e.value)
        .map((e) => ({ name: e.name.trim(), value: e.value })),
    };
  }
  return input;
}

// ---- one line each: what the policies mean ------------------------------------------------

export const CONCURRENCY_HELP: Record<ConcurrencyPolicy, string> = {
  ALLOW: "Runs may overlap: a new run starts even if the last one is still going.",
  FORBID: "While a run is still going, the next one is recorded as skipped.",
  REPLACE: "A new run cancels the one still going, then starts.",
};

export const MISFIRE_HELP: Record<MisfirePolicy, string> = {
  COALESCE: "After downtime or a pause, missed runs become one catch-up run.",
  ALL: "After downtime, every missed run is made up, up to the limit.",
  SKIP: "After downtime, missed runs are recorded as missed and not run.",
};

function seconds(value: number): string {
  if (value >= 3600 && value % 3600 === 0) return `${value / 3600} h`;
  if (value >= 60 && value % 60 === 0) return `${value / 60} min`;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} s`;
}

/**
 * The retry policy in words: "Retries after 30 s, then 2 min: 3 attempts in all." Each
 * wait is the backoff's ceiling, min(longest wait, first × multiplier^(n-1)).
 */
export function retryHelp(retry: JobFormState["retry"]): string {
  const attempts = Number(retry.maxAttempts);
  const initial = Number(retry.initialDelay);
  const cap = Number(retry.maxDelay);
  const multiplier = Number(retry.multiplier);
  if (![attempts, initial, cap, multiplier].every(Number.isFinite) || attempts < 1 || !Number.isInteger(attempts)) {
    return "Failed runs are retried with exponential backoff.";
  }
  if (attempts === 1) return "No retries: a failed run stays failed.";
  const retries = attempts - 1;
  const waits = Array.from({ length: retries }, (_, i) => Math.min(cap, initial * multiplier ** i));
  const say = (value: number) => (value <= 0 ? "at once" : seconds(value));
  const first = waits[0] as number;
  const total = `${attempts} attempts in all`;
  if (retries === 1) return `Retries once, ${first <= 0 ? "at once" : `after ${seconds(first)}`}: ${total}.`;
  if (waits.every((w) => w === first)) return `Retries ${first <= 0 ? "at once" : `every ${seconds(first)}`}: ${total}.`;
  const lead = (value: number) => (value <= 0 ? "at once" : `after ${seconds(value)}`);
  if (retries <= 4) {
    const rest = waits.slice(1).map(say);
    const last = rest.pop() as string;
    return `Retries ${[lead(first), ...rest].join(", ")}, then ${last}: ${total}.`;
  }
  // Long policies: the growing waits, then "every <cap>" once the cap is reached.
  const capped = waits.findIndex((w) => w >= cap);
  if (capped >= 1 && capped <= 4) {
    const growing = waits.slice(0, capped);
    return `Retries ${[lead(growing[0] as number), ...growing.slice(1).map(say)].join(", ")}, then every ${seconds(cap)}: ${total}.`;
  }
  return `Retries ${[lead(first), ...waits.slice(1, 3).map(say)].join(", ")}, … (growing ×${multiplier}, at most ${seconds(cap)}): ${total}.`;
}

export interface NamedJob {
  id: string;
  name: string;
  ownerId: string;
}

/**
 * Another job with this name (ignoring case and surrounding spaces), if any: names need not
 * be unique, but two jobs called the same are easy to mix up in lists and alerts. Your own
 * job is preferred to someone else's; `self` is the job being edited.
 */
export function duplicateName(name: string, jobs: readonly NamedJob[], userId: string, self?: string): NamedJob | null {
  const wanted = name.trim().toLowerCase();
  if (!wanted) return null;
  const same = jobs.filter((j) => j.id !== self && j.name.trim().toLowerCase() === wanted);
  return same.find((j) => j.ownerId === userId) ?? same[0] ?? null;
}

/** Whether the form's retry policy is the server's default one. */
export function isDefaultRetry(retry: JobFormState["retry"]): boolean {
  return (Object.keys(DEFAULTS.retry) as (keyof typeof DEFAULTS.retry)[]).every(
    (key) => retry[key].trim() !== "" && Number(retry[key]) === DEFAULTS.retry[key],
  );
}

/** The default retry policy as the form keeps it (strings, as typed). */
export function defaultRetry(): JobFormState["retry"] {
  return {
    maxAttempts: String(DEFAULTS.retry.maxAttempts),
    initialDelay: String(DEFAULTS.retry.initialDelay),
    maxDelay: String(DEFAULTS.retry.maxDelay),
    multiplier: String(DEFAULTS.retry.multiplier),
  };
}

export function timeoutHelp(raw: string): string {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) return "A run that takes longer is stopped and marked timed out.";
  return `A run still going after ${seconds(value)} is stopped and marked timed out.`;
}

/** Keys of errors that the form shows next to a field (the rest go to the banner). */
export function formShowsError(key: string): boolean {
  return (
    [
      "name",
      "description",
      "type",
      "schedule",
      "schedule.cron",
      "schedule.timezone",
      "timezone",
      "http",
      "http.method",
      "http.url",
      "http.body",
      "http.headers",
      "script",
      "script.command",
      "script.args",
      "script.cwd",
      "script.env",
      "retry",
      "retry.maxAttempts",
      "retry.initialDelay",
      "retry.maxDelay",
      "retry.multiplier",
      "timeoutSeconds",
      "concurrency",
      "misfire",
      "misfireLimit",
    ].includes(key) ||
    /^http\.headers\[\d+\](\.(name|value|secret))?$/.test(key) ||
    /^script\.env\./.test(key) ||
    /^script\.args\[\d+\]$/.test(key)
  );
}
