import { describe, expect, it } from "vitest";
import { advanceResumePoint } from "./resume";

const RUN_EVENTS = "subscription RunEvents($jobId: ID, $afterEventId: ID) { runEvents(jobId: $jobId, afterEventId: $afterEventId) { eventId } }";
const JOB_EVENTS = "subscription JobEvents($afterEventId: ID) { jobEvents(afterEventId: $afterEventId) { eventId } }";
const RUN_LOG = "subscription RunLog($runId: ID!, $afterSeq: Int!) { runLog(runId: $runId, afterSeq: $afterSeq) { seq } }";

describe("advanceResumePoint", () => {
  it("moves afterEventId to the last event seen", () => {
    const variables: Record<string, unknown> = { jobId: "4", afterEventId: "10" };
    expect(advanceResumePoint(RUN_EVENTS, variables, { runEvents: { eventId: "12" } })).toBe(true);
    expect(variables).toEqual({ jobId: "4", afterEventId: "12" });
  });

  it("starts from an event when the subscription began at 'now'", () => {
    const variables: Record<string, unknown> = { afterEventId: null };
    advanceResumePoint(JOB_EVENTS, variables, { jobEvents: { eventId: "7" } });
    expect(variables.afterEventId).toBe("7");
  });

  it("compares ids as numbers and never moves back", () => {
    const variables: Record<string, unknown> = { afterEventId: "100" };
    expect(advanceResumePoint(JOB_EVENTS, variables, { jobEvents: { eventId: "99" } })).toBe(false);
    expect(variables.afterEventId).toBe("100");
    advanceResumePoint(JOB_EVENTS, variables, { jobEvents: { eventId: "101" } });
    expect(variables.afterEventId).toBe("101");
  });

  it("moves monitorEvents' afterEventId too (the monitors pages resume after a reconnect)", () => {
    const query = "subscription MonitorEvents($afterEventId: ID) { monitorEvents(afterEventId: $afterEventId) { eventId } }";
    const variables: Record<string, unknown> = { afterEventId: "20" };
    expect(advanceResumePoint(query, variables, { monitorEvents: { eventId: "23" } })).toBe(true);
    expect(variables.afterEventId).toBe("23");
  });

  it("moves a log's afterSeq to the last line seen", () => {
    const variables: Record<string, unknown> = { runId: "3", afterSeq: 0 };
    advanceResumePoint(RUN_LOG, variables, { runLog: { seq: 41 } });
    expect(variables.afterSeq).toBe(41);
  });

  it("leaves operations alone that do not declare the variable", () => {
    const variables: Record<string, unknown> = {};
    const query = "subscription { jobEvents { eventId } }";
    expect(advanceResumePoint(query, variables, { jobEvents: { eventId: "5" } })).toBe(false);
    expect(variables).toEqual({});
  });

  it("ignores empty results and other fields", () => {
    const variables: Record<string, unknown> = { afterEventId: "1" };
    expect(advanceResumePoint(JOB_EVENTS, variables, null)).toBe(false);
    expect(advanceResumePoint(JOB_EVENTS, variables, { other: { eventId: "9" } })).toBe(false);
    expect(variables.afterEventId).toBe("1");
  });
});
