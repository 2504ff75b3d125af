// The schedule inspector: the next occurrences side by side in the job's zone, UTC and the
// viewer's zone, with the times DST moved or doubled highlighted and explained.
import { useQuery } from "urql";
import { PreviewScheduleQuery } from "../api/operations";
import type { OccurrenceFieldsFragment } from "../gql/graphql";
import { offsetOf, wallClock, zoneAbbreviation } from "../lib/format";
import { useDebounced } from "../lib/hooks";
import { dstCounts, dstEffect, type PreviewAnswer } from "../lib/schedule";
import { AlertIcon } from "./icons";
import { TimezonePicker } from "./TimezonePicker";

/** Ask the server for a preview of what the user is typing, 300 ms after they stop. */
export function useSchedulePreview(
  cron: string,
  timezone: string,
  count: number,
  from: string | null,
  viewer: string,
  extraZones: readonly string[] = [],
): PreviewAnswer {
  const zones = [viewer, ...extraZones.filter((z) => z && z !== viewer)].join("\n");
  const wanted = useDebounced({ cron: cron.trim(), timezone, count, from, zones }, 300);
  const [result] = useQuery({
    query: PreviewScheduleQuery,
    variables: {
      cron: wanted.cron,
      timezone: wanted.timezone,
      count: wanted.count,
      from: wanted.from,
      zones: wanted.zones.split("\n"),
    },
    pause: !wanted.cron || !wanted.timezone,
    requestPolicy: "cache-and-network",
  });
  const variables = result.operation?.variables as { cron?: string; timezone?: string } | undefined;
  return {
    fetching: result.fetching,
    forCron: variables?.cron ?? "",
    forTimezone: variables?.timezone ?? "",
    data: result.data?.previewSchedule ?? null,
    error: result.error,
  };
}

/** What DST does to these runs, one badge per kind: "1 moved by DST", "2 in an hour DST repeats". */
export function DstSummary({ occurrences }: { occurrences: readonly OccurrenceFieldsFragment[] }) {
  const counts = dstCounts(occurrences);
  if (counts.length === 0) return null;
  return (
    <span className="dst-summary" data-testid="dst-count">
      {counts.map((c) => (
        <span key={c.effect} className="badge warn" data-dst-effect={c.effect} title={c.explanation}>
          {c.text}
        </span>
      ))}
    </span>
  );
}

/** The timezone field of the schedule (kept under this name for the pages that use it). */
export const TimezoneSelect = TimezonePicker;

function ZoneCell({ local, zone, abbreviation }: { local: string; zone: string; abbreviation?: string }) {
  // The day and the time wrap apart in a narrow column (a phone); each stays whole.
  const clock = wallClock(local);
  const cut = clock.lastIndexOf(" ");
  const day = clock.slice(0, cut);
  const time = clock.slice(cut + 1);
  return (
    <span className="occ-when" title={`${local} (${zone})`}>
      <span className="occ-date">{day}</span>{" "}
      <span className="occ-time">
        {time}
        <span className="occ-zone">{abbreviation ?? `UTC${offsetOf(local)}`}</span>
      </span>
    </span>
  );
}

export function OccurrenceTable({
  occurrences,
  timezone,
  viewer,
  extraZones = [],
  ownLabel = "Job time",
}: {
  occurrences: readonly OccurrenceFieldsFragment[];
  timezone: string;
  viewer: string;
  /** What the schedule's own zone column is called ("Job time", "Monitor time"). */
  ownLabel?: string;
  /** More zones to show, each in its own column (asked for with the preview's `zones`). */
  extraZones?: readonly string[];
}) {
  const extra = extraZones.filter((z) => z !== viewer);
  return (
    <div className="table-wrap">
      <table className="table stacked occurrences" aria-label="Upcoming runs">
        <thead>
          <tr>
            <th className="hide-sm">#</th>
            <th>
              {ownLabel} · {timezone}
            </th>
            <th>UTC</th>
            <th>Your time · {viewer}</th>
            {extra.map((zone) => (
              <th key={zone}>{zone}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {occurrences.map((occurrence, index) => {
            const mine = occurrence.zones.find((z) => z.timezone === viewer);
            const effect = dstEffect(occurrence);
            const highlighted = effect !== null || Boolean(occurrence.note);
            return (
              <tr
                key={occurrence.utc}
                className={highlighted ? "dst" : undefined}
                data-dst={highlighted ? "true" : undefined}
                data-dst-effect={effect ?? undefined}
              >
                <td className="muted hide-sm">{index + 1}</td>
                <td className="wide" data-label={ownLabel}>
                  <ZoneCell local={occurrence.local} zone={occurrence.timezone} abbreviation={occurrence.abbreviation} />
                  {occurrence.note ? (
                    <div className="dst-note" data-testid="dst-note">
                      <AlertIcon size={14} style={{ flex: "none", marginTop: 2 }} />
                      <span>{occurrence.note}</span>
                    </div>
                  ) : null}
                </td>
                <td className="wide" data-label="UTC">
                  <ZoneCell local={occurrence.utc} zone="UTC" abbreviation="UTC" />
                </td>
                <td className="wide" data-label="Your time">
                  {mine ? (
                    <ZoneCell local={mine.local} zone={viewer} abbreviation={zoneAbbreviation(occurrence.utc, viewer)} />
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                {extra.map((zone) => {
                  const there = occurrence.zones.find((z) => z.timezone === zone);
                  return (
                    <td key={zone} data-label={zone}>
                      {there ? (
                        <ZoneCell local={there.local} zone={zone} abbreviation={zoneAbbreviation(occurrence.utc, zone)} />
                      ) : (
                        <span className="muted">—</span>
                      )}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
