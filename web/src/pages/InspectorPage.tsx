// The standalone schedule inspector: a cron expression and zone(s) → the next occurrences,
// DST-aware, without creating a job. The same preview and table as the job form's; the
// state lives in the URL, so a preview can be shared as a link.
import { useState } from "react";
import { DstSummary, OccurrenceTable, TimezoneSelect, useSchedulePreview } from "../components/Inspector";
import { PlusIcon } from "../components/icons";
import { Field, Spinner } from "../components/ui";
import { viewerZone } from "../lib/format";
import { useDocumentTitle } from "../lib/hooks";
import { cronFeedback } from "../lib/schedule";
import { Link, useRouter } from "../router";

/** Zones compared beside the schedule's own, UTC and yours. */
export const MAX_EXTRA_ZONES = 3;
const COUNTS = [5, 10, 20, 50];
const EXAMPLES: { label: string; title: string; cron: string; timezone: string }[] = [
  { label: "02:30 in Berlin", title: "Daily at 02:30 in Europe/Berlin: the hour skipped in spring", cron: "30 2 * * *", timezone: "Europe/Berlin" },
  { label: "Weekdays 09:00 New York", title: "Monday to Friday at 09:00 in America/New_York", cron: "0 9 * * 1-5", timezone: "America/New_York" },
  { label: "Every 15 min, 01–02 London", title: "Every 15 minutes from 01:00 to 02:59 in Europe/London: the hour repeated in autumn", cron: "*/15 1-2 * * *", timezone: "Europe/London" },
  { label: "Last day of the month", title: "At 23:00 UTC on the last day of every month", cron: "0 23 L * *", timezone: "UTC" },
];

export function InspectorPage() {
  useDocumentTitle("Inspector");
  const { location, navigate } = useRouter();
  const viewer = viewerZone();
  const [cron, setCron] = useState(location.search.get("cron") ?? "30 2 * * *");
  const [timezone, setTimezone] = useState(location.search.get("tz") ?? viewer);
  const [zones, setZones] = useState<string[]>(() =>
    (location.search.get("zones") ?? "")
      .split(",")
      .map((z) => z.trim())
      .filter(Boolean)
      .slice(0, MAX_EXTRA_ZONES),
  );
  const [count, setCount] = useState(() => {
    const wanted = Number(location.search.get("count"));
    return COUNTS.includes(wanted) ? wanted : 10;
  });
  const [from, setFrom] = useState(location.search.get("from") ?? "");

  const preview = useSchedulePreview(cron, timezone, count, from ? `${from}T00:00:00Z` : null, viewer, zones);
  const feedback = cronFeedback(cron, timezone, preview);

  // Keep the URL in step (replace, not push: typing is not navigation).
  const sync = (next: { cron?: string; tz?: string; zones?: string[]; count?: number; from?: string }) => {
    const params = new URLSearchParams();
    const values = { cron, tz: timezone, zones, count, from, ...next };
    if (values.cron) params.set("cron", values.cron);
    params.set("tz", values.tz);
    if (values.zones.length) params.set("zones", values.zones.join(","));
    if (values.count !== 10) params.set("count", String(values.count));
    if (values.from) params.set("from", values.from);
    navigate(`/inspector?${params.toString()}`, { replace: true });
  };

  const setZone = (index: number, zone: string) => {
    const next = zones.map((z, i) => (i === index ? zone : z));
    setZones(next);
    sync({ zones: next });
  };

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Inspector</h1>
          <p className="subtitle">When does a cron expression run? Its next times in any zones, daylight saving included.</p>
        </div>
        <div className="actions">
          <Link
            to={`/jobs/new?${new URLSearchParams({ cron: cron.trim(), timezone }).toString()}`}
            className="btn"
            aria-disabled={feedback.state !== "valid"}
          >
            <PlusIcon /> New job with this schedule
          </Link>
        </div>
      </div>

      <div className="card">
        <div className="card-body">
          <div className="field-row" style={{ gridTemplateColumns: "minmax(0,3fr) minmax(0,2fr)" }}>
            <Field label="Cron expression" error={feedback.cronError} hint={feedback.description ?? "Minute hour day-of-month month day-of-week; @daily, L, W and # work too."}>
              {(p) => (
                <input
                  {...p}
                  className="input cron-input"
                  spellCheck={false}
                  autoComplete="off"
                  placeholder="*/5 * * * *"
                  value={cron}
                  onChange={(e) => {
                    setCron(e.target.value);
                    sync({ cron: e.target.value });
                  }}
                />
              )}
            </Field>
            <Field label="Timezone" error={feedback.timezoneError} hint="The cron's times are read in this zone.">
              {(p) => (
                <TimezoneSelect
                  id={p.id}
                  invalid={p["aria-invalid"]}
                  describedBy={p["aria-describedby"]}
                  value={timezone}
                  viewer={viewer}
                  onChange={(zone) => {
                    setTimezone(zone);
                    sync({ tz: zone });
                  }}
                />
              )}
            </Field>
          </div>

          <div className="row" style={{ marginTop: 10 }}>
            <span className="muted small">Examples:</span>
            {EXAMPLES.map((example) => (
              <button
                key={example.label}
                type="button"
                className="btn btn-sm"
                title={example.title}
                aria-pressed={cron.trim() === example.cron && timezone === example.timezone}
                onClick={() => {
                  setCron(example.cron);
                  setTimezone(example.timezone);
                  sync({ cron: example.cron, tz: example.timezone });
                }}
              >
                {example.label}
              </button>
            ))}
          </div>

          <div className="stack" style={{ marginTop: 16, gap: 8 }}>
            {zones.map((zone, index) => (
              <div className="zone-compare" key={index}>
                <label htmlFor={`extra-zone-${index}`}>Also in</label>
                <TimezoneSelect id={`extra-zone-${index}`} value={zone} viewer={viewer} onChange={(z) => setZone(index, z)} />
                <button
                  type="button"
                  className="btn btn-sm"
                  aria-label={`Remove ${zone}`}
                  onClick={() => {
                    const next = zones.filter((_, i) => i !== index);
                    setZones(next);
                    sync({ zones: next });
                  }}
                >
                  Remove
                </button>
              </div>
            ))}
            {zones.length < MAX_EXTRA_ZONES ? (
              <div>
                <button
                  type="button"
                  className="btn btn-sm"
                  onClick={() => {
                    const next = [...zones, suggestZone([timezone, viewer, ...zones])];
                    setZones(next);
                    sync({ zones: next });
                  }}
                >
                  <PlusIcon /> Add a zone
                </button>
              </div>
            ) : null}
          </div>
        </div>

        <div className="inspector" role="region" aria-label="Schedule inspector" style={{ margin: 0 }}>
          <div className="inspector-head">
            <div>
              <div className="inspector-title">
                Next runs
                {feedback.state === "checking" ? <Spinner label="Checking the schedule" /> : null}
              </div>
              <div className="schedule-words" data-testid="schedule-description">
                {feedback.description ??
                  (feedback.state === "invalid" ? "Not a valid schedule" : feedback.state === "empty" ? "Type a cron expression" : "…")}
              </div>
              <div className="muted small">
                in {timezone}
                {feedback.dstNotes > 0 ? (
                  <>
                    {" · "}
                    <DstSummary occurrences={feedback.occurrences} />
                  </>
                ) : null}
              </div>
            </div>
            <div className="row inspector-controls">
              <label className="inline-field">
                <span>From</span>
                <input
                  className="input input-sm"
                  type="date"
                  aria-label="Preview from date"
                  value={from}
                  onChange={(e) => {
                    setFrom(e.target.value);
                    sync({ from: e.target.value });
                  }}
                />
              </label>
              <label className="inline-field">
                <span>Show</span>
                <select
                  className="select select-sm"
                  aria-label="How many runs to preview"
                  value={count}
                  onChange={(e) => {
                    setCount(Number(e.target.value));
                    sync({ count: Number(e.target.value) });
                  }}
                >
                  {COUNTS.map((n) => (
                    <option key={n} value={n}>
                      next {n}
                    </option>
                  ))}
                </select>
              </label>
            </div>
          </div>
          {feedback.otherError ? (
            <div className="field-error" role="alert">
              {feedback.otherError}
            </div>
          ) : null}
          {feedback.state === "valid" && feedback.occurrences.length > 0 ? (
            <OccurrenceTable occurrences={feedback.occurrences} timezone={timezone} viewer={viewer} extraZones={zones} />
          ) : feedback.state === "valid" ? (
            <p className="inspector-empty">This expression has no future occurrence: a job with it would never run.</p>
          ) : feedback.state === "invalid" ? (
            <p className="inspector-empty">Fix the expression above to see when it runs.</p>
          ) : (
            <p className="inspector-empty">The next runs appear here as you type.</p>
          )}
        </div>
      </div>
    </>
  );
}

/** A zone to compare with that is not shown yet: a few common ones, in order. */
export function suggestZone(shown: readonly string[]): string {
  const common = ["America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles"];
  return common.find((z) => !shown.includes(z)) ?? "Europe/Paris";
}
