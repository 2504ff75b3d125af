// Alerting forms and words: rule and channel forms to and from the API's shapes, their
// checks (the same limits as app/services/alerts.py and channels.py), and labels.
import type { AlertChannelInput, AlertRulesFieldsFragment, AlertRulesInput, ChannelKind } from "../gql/graphql";

/** The rule editor's state: numbers stay text while typed. */
export interface RulesForm {
  channelIds: string[];
  onFailure: boolean;
  failureThreshold: string;
  onTimedOut: boolean;
  onLost: boolean;
  onMissed: boolean;
  onSkipped: boolean;
  onRecovery: boolean;
  remind: boolean;
  remindEveryHours: string;
}

/** The problem switches, in the order the editor shows them. */
export const PROBLEM_SWITCHES = [
  { key: "onFailure", label: "A run fails", hint: "HTTP error, non-zero exit… (after its retries)" },
  { key: "onTimedOut", label: "A run times out", hint: "" },
  { key: "onLost", label: "A run is lost", hint: "its worker died" },
  { key: "onMissed", label: "A run is missed", hint: "misfire skip or a starting deadline" },
  { key: "onSkipped", label: "A run is skipped", hint: "concurrency forbid or replace" },
] as const;

export type ProblemSwitch = (typeof PROBLEM_SWITCHES)[number]["key"];

/** What may have rules of its own. */
export type RuleSubject = "job" | "monitor";

/** A monitor's problems (late, down, ran too long) all obey `onFailure` (docs/monitors.md). */
export const MONITOR_SWITCHES: readonly { key: ProblemSwitch; label: string; hint: string }[] = [
  { key: "onFailure", label: "It is late, down or runs too long", hint: "a missed ping, /fail or a non-zero exit status" },
];

/** The switches the editor shows for a subject's rules. */
export function problemSwitches(subject: RuleSubject): readonly { key: ProblemSwitch; label: string; hint: string }[] {
  return subject === "monitor" ? MONITOR_SWITCHES : PROBLEM_SWITCHES;
}

/** The API's defaults (AlertRulesInput), with no channel chosen. */
export function emptyRules(): RulesForm {
  return {
    channelIds: [],
    onFailure: true,
    failureThreshold: "1",
    onTimedOut: true,
    onLost: true,
    onMissed: false,
    onSkipped: false,
    onRecovery: true,
    remind: false,
    remindEveryHours: "24",
  };
}

export function rulesFormFrom(rules: AlertRulesFieldsFragment | null | undefined): RulesForm {
  if (!rules) return emptyRules();
  return {
    channelIds: rules.channelIds.map(String),
    onFailure: rules.onFailure,
    failureThreshold: String(rules.failureThreshold),
    onTimedOut: rules.onTimedOut,
    onLost: rules.onLost,
    onMissed: rules.onMissed,
    onSkipped: rules.onSkipped,
    onRecovery: rules.onRecovery,
    remind: rules.remindEveryHours !== null,
    remindEveryHours: rules.remindEveryHours !== null ? String(rules.remindEveryHours) : "24",
  };
}

function number(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(trimmed)) return null;
  return Number(trimmed);
}

/** Field errors keyed like the API's (`failureThreshold`, `remindEveryHours`). */
export function validateRules(form: RulesForm): Record<string, string> {
  const errors: Record<string, string> = {};
  const threshold = number(form.failureThreshold);
  if (threshold === null || !Number.isInteger(threshold) || threshold < 1 || threshold > 1000) {
    errors.failureThreshold = "A whole number from 1 to 1000.";
  }
  if (form.remind) {
    const hours = number(form.remindEveryHours);
    if (hours === null || hours < 0.25 || hours > 720) errors.remindEveryHours = "Hours from 0.25 (15 minutes) to 720 (30 days).";
  }
  return errors;
}

export function toRulesInput(form: RulesForm): AlertRulesInput {
  return {
    channelIds: [...form.channelIds].sort((a, b) => Number(a) - Number(b)),
    onFailure: form.onFailure,
    failureThreshold: Number(form.failureThreshold.trim()),
    onTimedOut: form.onTimedOut,
    onLost: form.onLost,
    onMissed: form.onMissed,
    onSkipped: form.onSkipped,
    onRecovery: form.onRecovery,
    remindEveryHours: form.remind ? Number(form.remindEveryHours.trim()) : null,
  };
}

/** Two forms that would save the same rule (to skip a save that changes nothing). */
export function sameRules(a: RulesForm, b: RulesForm): boolean {
  return JSON.stringify(toRulesInput(a)) === JSON.stringify(toRulesInput(b));
}

interface NamedChannel {
  id: string;
  name: string;
}

function hours(value: number): string {
  if (value < 1) return `${Math.round(value * 60)} min`;
  return value === 1 ? "hour" : `${value} h`;
}

/** One sentence for a rule: "ops, pager on failure (after 3 in a row), timed out, lost; recovery."
 * A monitor's rule reads as what it obeys: onFailure, recovery, reminders (no threshold). */
export function describeRules(rules: AlertRulesFieldsFragment, channels: NamedChannel[], subject: RuleSubject = "job"): string {
  const names = rules.channelIds.map((id) => channels.find((c) => c.id === String(id))?.name ?? `channel ${id}`);
  if (names.length === 0) return "No channels: nobody is notified.";
  let text: string;
  if (subject === "monitor") {
    if (!rules.onFailure) return `${names.join(", ")}: problems switched off, nobody is notified.`;
    text = `${names.join(", ")} when it is late, down or runs too long`;
  } else {
    const problems = PROBLEM_SWITCHES.filter((s) => rules[s.key]).map((s) => s.label.replace(/^A run /, ""));
    if (problems.length === 0) return `${names.join(", ")}: every problem switched off, nobody is notified.`;
    text = `${names.join(", ")} when a run ${problems.join(", ")}`;
    if (rules.failureThreshold > 1) text += ` (${rules.failureThreshold} times in a row)`;
  }
  const extras = [rules.onRecovery ? "on recovery" : null, rules.remindEveryHours !== null ? `reminders every ${hours(rules.remindEveryHours)}` : null].filter(Boolean);
  return `${text}${extras.length ? `; ${extras.join("; ")}` : ""}.`;
}

/** Which rules apply to a job or monitor, in words (its page's summary). */
export function appliedRules({
  subject,
  own,
  defaults,
  channels,
  ownersDefaults,
}: {
  subject: RuleSubject;
  own: AlertRulesFieldsFragment | null | undefined;
  defaults: AlertRulesFieldsFragment | null | undefined;
  channels: NamedChannel[];
  /** True when the subject is someone else's: their defaults apply, not the viewer's. */
  ownersDefaults: boolean;
}): string {
  if (own) return `Own rules: ${describeRules(own, channels, subject)}`;
  if (ownersDefaults) return "Its owner's default rules apply.";
  if (defaults) return `Your defaults: ${describeRules(defaults, channels, subject)}`;
  return `No rules: this ${subject} notifies nobody.`;
}

// ---- channels -------------------------------------------------------------------------------

/** The channels a rule of `ownerId` may name: theirs and the shared ones (an admin's list
 * has everyone's channels, but a rule may only use its owner's). */
export function usableChannels<T extends { ownerId: string; shared: boolean }>(channels: T[], ownerId: string): T[] {
  return channels.filter((c) => c.shared || c.ownerId === ownerId);
}

/** Whose a channel is, from the viewer's side. */
export function channelOwnership(channel: { ownerId: string; shared: boolean }, viewerId: string): string {
  const mine = channel.ownerId === viewerId;
  if (channel.shared) return mine ? "shared by you" : "shared";
  return mine ? "yours" : `user ${channel.ownerId}'s`;
}

export interface ChannelForm {
  kind: ChannelKind;
  name: string;
  /** The e-mail address, or the webhook / Slack URL. */
  target: string;
  shared: boolean;
}

export const CHANNEL_KINDS: { value: ChannelKind; label: string; target: string; placeholder: string; hint: string }[] = [
  { value: "EMAIL", label: "E-mail", target: "Address", placeholder: "ops@example.com", hint: "Sent through the server's SMTP setup." },
  {
    value: "WEBHOOK",
    label: "Webhook",
    target: "URL",
    placeholder: "https://example.com/hooks/dts",
    hint: "A signed JSON POST (X-Dts-Signature). The URL is stored encrypted and never shown again in full.",
  },
  {
    value: "SLACK",
    label: "Slack",
    target: "Incoming-webhook URL",
    placeholder: "https://hooks.slack.com/services/…",
    hint: "Slack, Mattermost, Rocket.Chat… The URL is the credential: it is stored encrypted and never shown again in full.",
  },
];

export function kindLabel(kind: ChannelKind): string {
  return CHANNEL_KINDS.find((k) => k.value === kind)?.label ?? kind;
}

/** The API field the target goes to: `address` for e-mail, `url` otherwise. */
export function targetField(kind: ChannelKind): "address" | "url" {
  return kind === "EMAIL" ? "address" : "url";
}

export function validateChannel(form: ChannelForm): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!form.name.trim()) errors.name = "Give the channel a name.";
  else if (form.name.trim().length > 100) errors.name = "At most 100 characters.";
  const target = form.target.trim();
  const field = targetField(form.kind);
  if (!target) errors[field] = form.kind === "EMAIL" ? "Give an e-mail address." : "Give the URL to post to.";
  else if (form.kind === "EMAIL" && !/^[^\s@]+@[^\s@]+$/.test(target)) errors[field] = "Not an e-mail address.";
  else if (form.kind !== "EMAIL" && !/^https?:\/\/[^\s/]+/i.test(target)) errors[field] = "An http:// or https:// URL.";
  else if (target.length > 2000) errors[field] = "At most 2,000 characters.";
  return errors;
}

export function toChannelInput(form: ChannelForm): AlertChannelInput {
  return { kind: form.kind, name: form.name.trim(), shared: form.shared, [targetField(form.kind)]: form.target.trim() };
}

// ---- incidents ------------------------------------------------------------------------------

const INCIDENT_KINDS: Record<string, string> = {
  failed: "Failed",
  timed_out: "Timed out",
  lost: "Lost",
  missed: "Missed",
  skipped: "Skipped",
  late: "Late",
  down: "Down",
  ran_too_long: "Ran too long",
};

export function incidentKindLabel(kind: string): string {
  return INCIDENT_KINDS[kind] ?? kind.replace(/_/g, " ");
}

/** Where an incident's subject lives in the dashboard. */
export function subjectPath(subject: string, id: string): string {
  return subject === "monitor" ? `/monitors/${id}` : `/jobs/${id}`;
}
