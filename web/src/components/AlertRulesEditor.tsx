// The one editor of alert rules: which channels, which problems, the threshold, recovery
// notices and reminders. Used for the defaults (Notifications page) and a job's or a
// monitor's own rules (a monitor's problems all obey one switch and have no threshold).
import { useId } from "react";
import type { AlertChannelFieldsFragment } from "../gql/graphql";
import { kindLabel, problemSwitches, type RuleSubject, type RulesForm } from "../lib/alerts";
import { Link } from "../router";
import { Field, FieldError, Switch } from "./ui";

export function AlertRulesEditor({
  value,
  onChange,
  channels,
  errors,
  disabled,
  subject = "job",
}: {
  value: RulesForm;
  onChange: (next: RulesForm) => void;
  channels: AlertChannelFieldsFragment[];
  /** Messages by API field: channelIds, failureThreshold, remindEveryHours. */
  errors: Record<string, string | undefined>;
  disabled?: boolean;
  /** Whose rules: a monitor's show only the switches that apply to monitors. */
  subject?: RuleSubject;
}) {
  const groupId = useId();
  const set = (patch: Partial<RulesForm>) => onChange({ ...value, ...patch });
  const toggleChannel = (id: string, on: boolean) =>
    set({ channelIds: on ? [...value.channelIds, id] : value.channelIds.filter((c) => c !== id) });
  return (
    <div className="rules-editor">
      <div className="field" role="group" aria-labelledby={`${groupId}-channels`}>
        <span className="field-label" id={`${groupId}-channels`}>
          Notify
        </span>
        {channels.length === 0 ? (
          <p className="muted small">
            No channels yet. <Link to="/notifications">Add an e-mail, webhook or Slack channel</Link> first.
          </p>
        ) : (
          <div className="check-list">
            {channels.map((c) => (
              <label key={c.id} className="check">
                <input
                  type="checkbox"
                  disabled={disabled}
                  checked={value.channelIds.includes(c.id)}
                  onChange={(e) => toggleChannel(c.id, e.target.checked)}
                />
                <span>
                  {c.name} <span className="muted small">({kindLabel(c.kind).toLowerCase()}{c.shared ? ", shared" : ""})</span>
                </span>
              </label>
            ))}
          </div>
        )}
        <FieldError message={errors.channelIds} />
      </div>
      <div className="field" role="group" aria-labelledby={`${groupId}-when`}>
        <span className="field-label" id={`${groupId}-when`}>
          When
        </span>
        <div className="check-list">
          {problemSwitches(subject).map((s) => (
            <Switch
              key={s.key}
              disabled={disabled}
              checked={value[s.key]}
              onChange={(on) => set({ [s.key]: on })}
              label={
                <>
                  {s.label}
                  {s.hint ? <span className="muted small"> ({s.hint})</span> : null}
                </>
              }
            />
          ))}
        </div>
      </div>
      <div className="field-row rules-numbers">
        {subject === "job" ? (
          <Field label="Open an incident after" error={errors.failureThreshold} hint="problems in a row (1 = the first one)">
            {(p) => (
              <input
                {...p}
                className="input"
                inputMode="numeric"
                disabled={disabled}
                value={value.failureThreshold}
                onChange={(e) => set({ failureThreshold: e.target.value })}
              />
            )}
          </Field>
        ) : null}
        <div className="field">
          <span className="field-label">&nbsp;</span>
          <Switch disabled={disabled} checked={value.onRecovery} onChange={(onRecovery) => set({ onRecovery })} label="Tell me when it recovers" />
        </div>
      </div>
      <div className="field-row rules-numbers">
        <div className="field">
          {value.remind ? <span className="field-label">&nbsp;</span> : null}
          <Switch disabled={disabled} checked={value.remind} onChange={(remind) => set({ remind })} label="Remind me while it stays failing" />
        </div>
        {value.remind ? (
          <Field label="Remind every (hours)" error={errors.remindEveryHours} hint="0.25 to 720">
            {(p) => (
              <input
                {...p}
                className="input"
                inputMode="decimal"
                disabled={disabled}
                value={value.remindEveryHours}
                onChange={(e) => set({ remindEveryHours: e.target.value })}
              />
            )}
          </Field>
        ) : null}
      </div>
    </div>
  );
}
