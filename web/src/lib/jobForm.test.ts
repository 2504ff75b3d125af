import { describe, expect, it } from "vitest";
import type { JobEditFieldsFragment } from "../gql/graphql";
import {
  CONCURRENCY_HELP,
  DEFAULTS,
  MISFIRE_HELP,
  emptyForm,
  formFromJob,
  formShowsError,
  formatJsonBody,
  jsonBodyError,
  duplicateName,
  isDefaultRetry,
  retryHelp,
  timeoutHelp,
  toJobInput,
  validateForm,
  type JobFormState,
} from "./jobForm";
import { SECRET_MASK } from "./headers";

function filled(patch: Partial<JobFormState> = {}): JobFormState {
  const form = emptyForm("Europe/Berlin");
  return { ...form, name: "nightly", http: { ...form.http, url: "https://example.com/hook" }, ...patch };
}

describe("policy defaults", () => {
  it("match the server's defaults", () => {
    const form = emptyForm("UTC");
    expect(form.retry).toEqual({ maxAttempts: "3", initialDelay: "30", maxDelay: "600", multiplier: "4" });
    expect(form.timeoutSeconds).toBe("60");
    expect(form.concurrency).toBe("ALLOW");
    expect(form.misfire).toBe("COALESCE");
    expect(form.misfireLimit).toBe("100");
    expect(form.cron).toBe(DEFAULTS.cron);
  });

  it("uses the viewer's timezone for a new job", () => {
    expect(emptyForm("America/Chicago").timezone).toBe("America/Chicago");
  });

  it("are sent as numbers and enums", () => {
    const input = toJobInput(filled());
    expect(input.retry).toEqual({ maxAttempts: 3, initialDelay: 30, maxDelay: 600, multiplier: 4 });
    expect(input).toMatchObject({ timeoutSeconds: 60, concurrency: "ALLOW", misfire: "COALESCE", misfireLimit: 100 });
    expect(input.schedule).toEqual({ cron: "*/5 * * * *", timezone: "Europe/Berlin" });
  });

  it.each([
    [{ maxAttempts: "2", initialDelay: "30", maxDelay: "600", multiplier: "4" }, "Retries once, after 30 s: 2 attempts in all."],
    [{ maxAttempts: "4", initialDelay: "30", maxDelay: "600", multiplier: "4" }, "Retries after 30 s, 2 min, then 8 min: 4 attempts in all."],
    [{ maxAttempts: "5", initialDelay: "30", maxDelay: "600", multiplier: "4" }, "Retries after 30 s, 2 min, 8 min, then 10 min: 5 attempts in all."],
    [{ maxAttempts: "10", initialDelay: "30", maxDelay: "600", multiplier: "4" }, "Retries after 30 s, 2 min, 8 min, then every 10 min: 10 attempts in all."],
    [{ maxAttempts: "4", initialDelay: "60", maxDelay: "600", multiplier: "1" }, "Retries every 1 min: 4 attempts in all."],
    [{ maxAttempts: "3", initialDelay: "0", maxDelay: "600", multiplier: "2" }, "Retries at once: 3 attempts in all."],
    [{ maxAttempts: "20", initialDelay: "1", maxDelay: "86400", multiplier: "2" }, "Retries after 1 s, 2 s, 4 s, … (growing ×2, at most 24 h): 20 attempts in all."],
    [{ maxAttempts: "x", initialDelay: "30", maxDelay: "600", multiplier: "4" }, "Failed runs are retried with exponential backoff."],
  ])("a retry policy %j reads %j", (retry, words) => {
    expect(retryHelp(retry)).toBe(words);
  });

  it("knows the default retry policy", () => {
    expect(isDefaultRetry(emptyForm("UTC").retry)).toBe(true);
    expect(isDefaultRetry({ maxAttempts: "3", initialDelay: "30.0", maxDelay: "600", multiplier: "4" })).toBe(true);
    expect(isDefaultRetry({ maxAttempts: "3", initialDelay: "1", maxDelay: "600", multiplier: "4" })).toBe(false);
    expect(isDefaultRetry({ maxAttempts: "", initialDelay: "30", maxDelay: "600", multiplier: "4" })).toBe(false);
  });

  it("are explained in one line each", () => {
    expect(retryHelp(emptyForm("UTC").retry)).toBe("Retries after 30 s, then 2 min: 3 attempts in all.");
    expect(retryHelp({ maxAttempts: "1", initialDelay: "1", maxDelay: "300", multiplier: "2" })).toBe(
      "No retries: a failed run stays failed.",
    );
    expect(timeoutHelp("60")).toBe("A run still going after 1 min is stopped and marked timed out.");
    for (const line of [...Object.values(CONCURRENCY_HELP), ...Object.values(MISFIRE_HELP)]) {
      expect(line.split(". ").length).toBe(1);
    }
  });
});

describe("JSON body validation", () => {
  it("accepts empty and valid JSON", () => {
    expect(jsonBodyError("")).toBeNull();
    expect(jsonBodyError('{"a": [1, 2]}')).toBeNull();
  });

  it("explains invalid JSON", () => {
    expect(jsonBodyError('{"a": ')).toMatch(/^not valid JSON: /);
  });

  it("is checked only when the body is marked as JSON", () => {
    const plain = filled();
    plain.http = { ...plain.http, body: "not json", bodyIsJson: false };
    expect(validateForm(plain)["http.body"]).toBeUndefined();
    const json = filled();
    json.http = { ...json.http, body: "not json", bodyIsJson: true };
    expect(validateForm(json)["http.body"]).toMatch(/not valid JSON/);
  });

  it("formats JSON and leaves anything else alone", () => {
    expect(formatJsonBody('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(formatJsonBody("{oops")).toBe("{oops");
  });

  it("an empty body is sent as no body", () => {
    const form = filled();
    form.http = { ...form.http, body: "  ", bodyIsJson: true };
    expect(toJobInput(form).http).toMatchObject({ body: null, bodyIsJson: false });
  });
});

describe("form checks", () => {
  it("names every missing or out-of-range field with the server's keys", () => {
    const form = emptyForm("UTC");
    form.cron = "";
    form.retry = { ...form.retry, maxAttempts: "0", multiplier: "x" };
    form.timeoutSeconds = "";
    const errors = validateForm(form);
    expect(errors.name).toBe("a name is required");
    expect(errors["http.url"]).toMatch(/a URL is required/);
    expect(errors["schedule.cron"]).toMatch(/required/);
    expect(errors["retry.maxAttempts"]).toBe("must be from 1 to 100");
    expect(errors["retry.multiplier"]).toBe("'x' is not a number");
    expect(errors.timeoutSeconds).toBe("required");
    for (const key of Object.keys(errors)) expect(formShowsError(key)).toBe(true);
  });

  it("a valid form has no errors", () => {
    expect(validateForm(filled())).toEqual({});
  });

  it("script jobs need a command and valid variable names", () => {
    const form = filled({ type: "SCRIPT" });
    form.script = { ...form.script, env: [{ key: "e1", name: "1BAD", value: "x" }] };
    const errors = validateForm(form);
    expect(errors["script.command"]).toMatch(/command is required/);
    expect(errors["script.env.1BAD"]).toMatch(/not a valid variable name/);
  });

  it("server errors that the form has no place for go to the banner", () => {
    expect(formShowsError("http.headers[2].name")).toBe(true);
    expect(formShowsError("script.env.PATH")).toBe(true);
    expect(formShowsError("startingDeadlineSeconds")).toBe(false);
  });
});

describe("editing a job", () => {
  const job: JobEditFieldsFragment = {
    id: "7",
    name: "nightly",
    description: "",
    type: "HTTP",
    timezone: "Europe/Berlin",
    paused: false,
    timeoutSeconds: 30,
    concurrency: "FORBID",
    misfire: "SKIP",
    misfireLimit: 10,
    startingDeadlineSeconds: null,
    version: 3,
    schedule: { kind: "CRON", cron: "30 2 * * *", timezone: "Europe/Berlin", everySeconds: null, at: null, description: "At 02:30 every day" },
    http: {
      method: "POST",
      url: "https://example.com/hook",
      headers: [{ name: "Authorization", value: SECRET_MASK, secret: true }],
      body: '{"a":1}',
      bodyIsJson: true,
    },
    script: null,
    retry: { maxAttempts: 5, initialDelay: 2, maxDelay: 60, multiplier: 3 },
  };

  it("round-trips every field, sending a stored secret back as the mask", () => {
    const input = toJobInput(formFromJob(job), { editing: true });
    expect(input).toMatchObject({
      name: "nightly",
      schedule: { cron: "30 2 * * *", timezone: "Europe/Berlin" },
      retry: { maxAttempts: 5, initialDelay: 2, maxDelay: 60, multiplier: 3 },
      timeoutSeconds: 30,
      concurrency: "FORBID",
      misfire: "SKIP",
      misfireLimit: 10,
      http: {
        method: "POST",
        headers: [{ name: "Authorization", value: SECRET_MASK, secret: true }],
        body: '{"a":1}',
        bodyIsJson: true,
      },
    });
    // The type cannot change and pausing has its own buttons, so an edit does not send them.
    expect(input.type).toBeUndefined();
    expect(input.paused).toBeUndefined();
  });
});

describe("duplicateName", () => {
  const jobs = [
    { id: "1", name: "nightly-report", ownerId: "7" },
    { id: "2", name: "Nightly-Report ", ownerId: "9" },
    { id: "3", name: "nightly-report-eu", ownerId: "9" },
  ];

  it("finds a job with the same name, ignoring case and spaces, yours first", () => {
    expect(duplicateName(" NIGHTLY-report", jobs, "9")?.id).toBe("2");
    expect(duplicateName("nightly-report", jobs, "7")?.id).toBe("1");
    expect(duplicateName("nightly-report", jobs, "8")?.id).toBe("1");
  });

  it("ignores the job being edited, other names and an empty name", () => {
    expect(duplicateName("nightly-report-eu", jobs, "9", "3")).toBeNull();
    expect(duplicateName("nightly", jobs, "9")).toBeNull();
    expect(duplicateName("  ", jobs, "9")).toBeNull();
  });
});
