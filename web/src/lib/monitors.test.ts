import { describe, expect, it } from "vitest";
import {
  durationFromSeconds,
  durationSeconds,
  emptyMonitorForm,
  formFromMonitor,
  formatInterval,
  maskPingUrl,
  monitorScheduleText,
  monitorStateView,
  pingExamples,
  stateSummary,
  toMonitorInput,
  validateMonitorForm,
} from "./monitors";

describe("monitor state", () => {
  it("shows paused over the state, and the run tones for up and down", () => {
    expect(monitorStateView({ state: "UP", paused: false, ranTooLong: false })).toMatchObject({ state: "UP", label: "Up", tone: "ok" });
    expect(monitorStateView({ state: "DOWN", paused: false, ranTooLong: false })).toMatchObject({ label: "Down", tone: "bad" });
    expect(monitorStateView({ state: "NEW", paused: true, ranTooLong: false })).toMatchObject({ state: "PAUSED", label: "Paused" });
  });

  it("says when a run went on too long", () => {
    expect(monitorStateView({ state: "LATE", paused: false, ranTooLong: true }).label).toBe("Ran too long");
    expect(monitorStateView({ state: "DOWN", paused: false, ranTooLong: true }).label).toBe("Down: ran too long");
    expect(monitorStateView({ state: "DOWN", paused: true, ranTooLong: true }).label).toBe("Paused");
  });
});

describe("the list's summary", () => {
  it("counts each shown state, trouble first, paused over the state", () => {
    const m = (state: "UP" | "DOWN" | "NEW", paused = false) => ({ state, paused, ranTooLong: false });
    expect(stateSummary([m("UP"), m("DOWN"), m("UP"), m("NEW", true)])).toBe("1 down · 2 up · 1 paused");
    expect(stateSummary([])).toBe("");
  });
});

describe("intervals and schedules", () => {
  it("writes seconds exactly, largest units first", () => {
    expect(formatInterval(0)).toBe("0 s");
    expect(formatInterval(300)).toBe("5 min");
    expect(formatInterval(5400)).toBe("1 h 30 min");
    expect(formatInterval(86_400 + 61)).toBe("1 d 1 min 1 s");
    expect(formatInterval(-1)).toBe("—");
  });

  it("reads a cron monitor with its zone and a period monitor as an interval", () => {
    expect(monitorScheduleText({ cron: "30 2 * * *", timezone: "Europe/Berlin", periodSeconds: null })).toBe("30 2 * * * · Europe/Berlin");
    expect(monitorScheduleText({ cron: null, timezone: "UTC", periodSeconds: 3600 })).toBe("every 1 h");
  });
});

describe("ping URLs", () => {
  const url = "https://dts.example.com/ping/1f0e2d3c-aaaa-bbbb-cccc-1234567890ab";

  it("masks the uuid but keeps the host and its first characters", () => {
    const masked = maskPingUrl(url);
    expect(masked.startsWith("https://dts.example.com/ping/1f0e")).toBe(true);
    expect(masked).not.toContain("1234567890ab");
    expect(maskPingUrl("nonsense")).toBe("••••••••");
  });

  it("gives curl lines for success, start, fail and an exit status", () => {
    const commands = pingExamples(url).map((e) => e.command);
    expect(commands[0]).toContain(` ${url}`);
    expect(commands.some((c) => c.endsWith(`${url}/start`))).toBe(true);
    expect(commands.some((c) => c.endsWith(`${url}/fail`))).toBe(true);
    expect(commands.some((c) => c.includes(`${url}/$rc`) && c.includes("--data-binary @-"))).toBe(true);
  });
});

describe("durations as typed", () => {
  it("picks the largest unit that divides exactly", () => {
    expect(durationFromSeconds(300)).toEqual({ amount: "5", unit: "min" });
    expect(durationFromSeconds(7200)).toEqual({ amount: "2", unit: "h" });
    expect(durationFromSeconds(86_400)).toEqual({ amount: "1", unit: "d" });
    expect(durationFromSeconds(90)).toEqual({ amount: "90", unit: "s" });
    expect(durationFromSeconds(0)).toEqual({ amount: "0", unit: "s" });
    expect(durationFromSeconds(null)).toEqual({ amount: "", unit: "min" });
  });

  it("turns what was typed into seconds", () => {
    expect(durationSeconds({ amount: " 15 ", unit: "min" })).toBe(900);
    expect(durationSeconds({ amount: "1.5", unit: "h" })).toBe(5400);
    expect(durationSeconds({ amount: "", unit: "h" })).toBeNull();
    expect(durationSeconds({ amount: "ten", unit: "s" })).toBeNaN();
    expect(durationSeconds({ amount: "-5", unit: "s" })).toBeNaN();
  });
});

describe("the monitor form", () => {
  it("sends a cron monitor with null for the period and no duration", () => {
    const form = { ...emptyMonitorForm("Europe/Berlin"), name: "  nightly backup ", cron: "30 2 * * *" };
    form.grace = { amount: "15", unit: "min" };
    form.maxDuration = { amount: "1", unit: "h" };
    expect(validateMonitorForm(form)).toEqual({});
    expect(toMonitorInput(form)).toEqual({
      name: "nightly backup",
      cron: "30 2 * * *",
      timezone: "Europe/Berlin",
      periodSeconds: null,
      graceSeconds: 900,
      maxDurationSeconds: 3600,
    });
  });

  it("sends a period monitor with null for the cron, and clears the duration when emptied", () => {
    const form = { ...emptyMonitorForm("UTC"), name: "queue drain", kind: "period" as const, period: { amount: "2", unit: "h" as const } };
    expect(toMonitorInput(form)).toMatchObject({ cron: null, periodSeconds: 7200, maxDurationSeconds: null });
  });

  it("round-trips a monitor from the API", () => {
    const monitor = { name: "m", cron: null, timezone: "UTC", periodSeconds: 3600, graceSeconds: 0, maxDurationSeconds: null };
    const form = formFromMonitor(monitor);
    expect(form.kind).toBe("period");
    expect(toMonitorInput(form)).toEqual({ ...monitor, periodSeconds: 3600, graceSeconds: 0 });
  });

  it("names each problem by the API's field", () => {
    const form = {
      ...emptyMonitorForm("UTC"),
      name: " ",
      kind: "period" as const,
      period: { amount: "30", unit: "s" as const },
      grace: { amount: "x", unit: "min" as const },
      maxDuration: { amount: "400", unit: "d" as const },
    };
    expect(validateMonitorForm(form)).toEqual({
      name: "a monitor needs a name",
      periodSeconds: "must be from 60 seconds to 366 days",
      graceSeconds: "must be a number",
      maxDurationSeconds: "must be from 1 second to 366 days",
    });
    expect(validateMonitorForm({ ...emptyMonitorForm("UTC"), name: "a", cron: "" })).toEqual({
      cron: "a cron expression is required (or choose a period)",
    });
  });
});
