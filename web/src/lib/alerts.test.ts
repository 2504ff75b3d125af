import { describe, expect, it } from "vitest";
import type { AlertRulesFieldsFragment } from "../gql/graphql";
import {
  appliedRules,
  describeRules,
  emptyRules,
  incidentKindLabel,
  problemSwitches,
  channelOwnership,
  rulesFormFrom,
  sameRules,
  subjectPath,
  toChannelInput,
  toRulesInput,
  usableChannels,
  validateChannel,
  validateRules,
} from "./alerts";

const STORED: AlertRulesFieldsFragment = {
  channelIds: ["7", "3"],
  onFailure: true,
  failureThreshold: 3,
  onTimedOut: false,
  onLost: true,
  onMissed: true,
  onSkipped: false,
  onRecovery: false,
  remindEveryHours: 0.5,
};

describe("rule forms", () => {
  it("start with the API's defaults and no channel", () => {
    expect(toRulesInput(emptyRules())).toEqual({
      channelIds: [],
      onFailure: true,
      failureThreshold: 1,
      onTimedOut: true,
      onLost: true,
      onMissed: false,
      onSkipped: false,
      onRecovery: true,
      remindEveryHours: null,
    });
  });

  it("round-trip a stored rule (channel ids sorted, reminders kept)", () => {
    const form = rulesFormFrom(STORED);
    expect(form.failureThreshold).toBe("3");
    expect(form.remind).toBe(true);
    expect(toRulesInput(form)).toEqual({ ...STORED, channelIds: ["3", "7"] });
  });

  it("send null reminders when the switch is off, whatever the hours say", () => {
    const form = { ...rulesFormFrom(STORED), remind: false, remindEveryHours: "nonsense" };
    expect(validateRules(form)).toEqual({});
    expect(toRulesInput(form).remindEveryHours).toBeNull();
  });

  it.each([
    ["0", "failureThreshold"],
    ["1001", "failureThreshold"],
    ["2.5", "failureThreshold"],
    ["", "failureThreshold"],
    ["three", "failureThreshold"],
  ])("refuse the threshold %j", (value, field) => {
    expect(Object.keys(validateRules({ ...emptyRules(), failureThreshold: value }))).toEqual([field]);
  });

  it.each([
    ["0.25", true],
    ["720", true],
    [".5", true],
    ["0.2", false],
    ["721", false],
    ["-1", false],
    ["", false],
  ])("check reminder hours %j (ok: %s)", (value, ok) => {
    const errors = validateRules({ ...emptyRules(), remind: true, remindEveryHours: value });
    expect("remindEveryHours" in errors).toBe(!ok);
  });

  it("see through edits that change nothing", () => {
    const a = rulesFormFrom(STORED);
    expect(sameRules(a, { ...a, channelIds: ["7", "3"].reverse() })).toBe(true);
    expect(sameRules(a, { ...a, remindEveryHours: "0.50" })).toBe(true);
    expect(sameRules(a, { ...a, onLost: false })).toBe(false);
  });

  it("describe a rule in words", () => {
    const channels = [
      { id: "3", name: "ops" },
      { id: "7", name: "pager" },
    ];
    expect(describeRules(STORED, channels)).toBe(
      "pager, ops when a run fails, is lost, is missed (3 times in a row); reminders every 30 min.",
    );
    expect(describeRules({ ...STORED, channelIds: [] }, channels)).toBe("No channels: nobody is notified.");
    expect(describeRules({ ...STORED, channelIds: ["9"], failureThreshold: 1, onRecovery: true, remindEveryHours: null }, channels)).toBe(
      "channel 9 when a run fails, is lost, is missed; on recovery.",
    );
  });
});

describe("monitor rules", () => {
  const channels = [
    { id: "3", name: "ops" },
    { id: "7", name: "pager" },
  ];
  it("read as what a monitor obeys: onFailure, recovery and reminders, no threshold", () => {
    expect(describeRules(STORED, channels, "monitor")).toBe("pager, ops when it is late, down or runs too long; reminders every 30 min.");
    expect(describeRules({ ...STORED, onFailure: false }, channels, "monitor")).toBe(
      "pager, ops: problems switched off, nobody is notified.",
    );
    expect(describeRules({ ...STORED, channelIds: [] }, channels, "monitor")).toBe("No channels: nobody is notified.");
  });
  it("show only the switch monitors obey in the editor", () => {
    expect(problemSwitches("monitor").map((s) => s.key)).toEqual(["onFailure"]);
    expect(problemSwitches("job").map((s) => s.key)).toEqual(["onFailure", "onTimedOut", "onLost", "onMissed", "onSkipped"]);
  });
  it("say which rules apply on the page: own, the owner's defaults, yours, or none", () => {
    const base = { channels, defaults: null, ownersDefaults: false } as const;
    expect(appliedRules({ ...base, subject: "monitor", own: STORED })).toBe(
      "Own rules: pager, ops when it is late, down or runs too long; reminders every 30 min.",
    );
    expect(appliedRules({ ...base, subject: "monitor", own: null, ownersDefaults: true, defaults: STORED })).toBe(
      "Its owner's default rules apply.",
    );
    expect(appliedRules({ ...base, subject: "job", own: null, defaults: { ...STORED, remindEveryHours: null } })).toBe(
      "Your defaults: pager, ops when a run fails, is lost, is missed (3 times in a row).",
    );
    expect(appliedRules({ ...base, subject: "monitor", own: null })).toBe("No rules: this monitor notifies nobody.");
  });
});

describe("channel forms", () => {
  it("send the target as address for e-mail and url otherwise", () => {
    expect(toChannelInput({ kind: "EMAIL", name: " ops ", target: " ops@example.com ", shared: false })).toEqual({
      kind: "EMAIL",
      name: "ops",
      address: "ops@example.com",
      shared: false,
    });
    expect(toChannelInput({ kind: "SLACK", name: "chat", target: "https://hooks.slack.com/x", shared: true })).toEqual({
      kind: "SLACK",
      name: "chat",
      url: "https://hooks.slack.com/x",
      shared: true,
    });
  });

  it("name the field that is wrong", () => {
    expect(validateChannel({ kind: "EMAIL", name: "", target: "nope", shared: false })).toEqual({
      name: "Give the channel a name.",
      address: "Not an e-mail address.",
    });
    expect(validateChannel({ kind: "WEBHOOK", name: "x", target: "ftp://host/x", shared: false })).toEqual({
      url: "An http:// or https:// URL.",
    });
    expect(validateChannel({ kind: "WEBHOOK", name: "x", target: "", shared: false })).toEqual({ url: "Give the URL to post to." });
    expect(validateChannel({ kind: "WEBHOOK", name: "x", target: "http://127.0.0.1:8080/hook", shared: false })).toEqual({});
  });
});

describe("whose channels", () => {
  const channels = [
    { id: "1", ownerId: "10", shared: false },
    { id: "2", ownerId: "20", shared: false },
    { id: "3", ownerId: "20", shared: true },
  ];

  it("offer a rule only its owner's channels and the shared ones (an admin lists them all)", () => {
    expect(usableChannels(channels, "10").map((c) => c.id)).toEqual(["1", "3"]);
    expect(usableChannels(channels, "20").map((c) => c.id)).toEqual(["2", "3"]);
  });

  it("say whose a channel is", () => {
    expect(channels.map((c) => channelOwnership(c, "20"))).toEqual(["user 10's", "yours", "shared by you"]);
    expect(channelOwnership(channels[2]!, "10")).toBe("shared");
  });
});

describe("incidents", () => {
  it("label kinds and link subjects", () => {
    expect(incidentKindLabel("timed_out")).toBe("Timed out");
    expect(incidentKindLabel("ran_too_long")).toBe("Ran too long");
    expect(incidentKindLabel("brand_new")).toBe("brand new");
    expect(subjectPath("job", "4")).toBe("/jobs/4");
    expect(subjectPath("monitor", "9")).toBe("/monitors/9");
  });
});
