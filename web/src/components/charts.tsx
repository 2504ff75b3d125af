// Two small SVG charts: a sparkline of recent runs for the job list, and a duration chart.
import { useEffect, useRef, useState } from "react";
import type { RunStatus } from "../gql/graphql";
import { formatDuration } from "../lib/format";
import { STATUS_LABEL } from "./status";

export interface RecentRunPoint {
  status: RunStatus;
  durationSeconds: number | null;
}

function barClass(status: RunStatus): string {
  if (status === "SUCCEEDED") return "bar-ok";
  if (status === "FAILED" || status === "TIMED_OUT" || status === "LOST") return "bar-bad";
  return "bar-other";
}

const FAILED: RunStatus[] = ["FAILED", "TIMED_OUT", "LOST", "CANCELLED"];

/** Succeeded / (succeeded + failed) over these runs, as the API's successRate counts it. */
export function successRate(points: readonly RecentRunPoint[]): number | null {
  const ok = points.filter((p) => p.status === "SUCCEEDED").length;
  const bad = points.filter((p) => FAILED.includes(p.status)).length;
  return ok + bad ? ok / (ok + bad) : null;
}

/** One bar per recent run (oldest left), green for success, red for failure. */
export function Sparkline({ points, rate }: { points: readonly RecentRunPoint[]; rate?: number | null }) {
  const width = 84;
  const height = 22;
  const slots = 20;
  const gap = 1.2;
  const barWidth = (width - gap * (slots - 1)) / slots;
  const shown = points.slice(-slots);
  const offset = slots - shown.length;
  const recentRate = successRate(shown);
  const label =
    shown.length === 0
      ? "No finished runs yet"
      : `${Math.round((recentRate ?? 0) * 100)}% of the last ${shown.length} runs succeeded`;
  const value = rate !== undefined ? rate : recentRate;
  return (
    <div className="sparkline" title={label}>
      <svg width={width} height={height} role="img" aria-label={label} className="chart">
        {Array.from({ length: slots }, (_, i) => {
          const point = i >= offset ? shown[i - offset] : undefined;
          const x = i * (barWidth + gap);
          if (!point) {
            return <rect key={i} x={x} y={height - 3} width={barWidth} height={3} rx={1} className="bar-other" opacity={0.35} />;
          }
          const barHeight = point.status === "SUCCEEDED" ? height : height * 0.7;
          return (
            <rect key={i} x={x} y={height - barHeight} width={barWidth} height={barHeight} rx={1} className={barClass(point.status)}>
              <title>
                {STATUS_LABEL[point.status]}
                {point.durationSeconds !== null ? ` · ${formatDuration(point.durationSeconds * 1000)}` : ""}
              </title>
            </rect>
          );
        })}
      </svg>
      <span className="rate">{value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`}</span>
    </div>
  );
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** Durations of the recent runs as bars on a labelled axis. */
export function DurationChart({ points, height = 140 }: { points: readonly RecentRunPoint[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const element = box.current;
    if (!element || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(240, Math.round(entry.contentRect.width)));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const left = 48;
  const bottom = 18;
  const top = 8;
  const durations = points.map((p) => (p.durationSeconds ?? 0) * 1000);
  const max = niceMax(Math.max(0, ...durations));
  const plotHeight = height - top - bottom;
  const slots = Math.max(points.length, 20);
  const slot = (width - left) / slots;
  const barWidth = Math.max(2, slot * 0.7);
  const ticks = [0, max / 2, max];
  return (
    <div ref={box}>
    <svg
      width={width}
      height={height}
      className="chart"
      role="img"
      aria-label={`Durations of the last ${points.length} finished runs; the longest took ${formatDuration(Math.max(0, ...durations))}`}
    >
      {ticks.map((t) => {
        const y = top + plotHeight - (t / max) * plotHeight;
        return (
          <g key={t}>
            <line x1={left} x2={width} y1={y} y2={y} className="axis" strokeDasharray={t === 0 ? undefined : "3 3"} />
            <text x={left - 6} y={y + 3.5} textAnchor="end">
              {t === 0 ? "0" : formatDuration(t)}
            </text>
          </g>
        );
      })}
      {points.map((p, i) => {
        const value = (p.durationSeconds ?? 0) * 1000;
        const barHeight = Math.max(value > 0 ? 2 : 1, (value / max) * plotHeight);
        const x = left + (slots - points.length + i) * slot + (slot - barWidth) / 2;
        return (
          <rect key={i} x={x} y={top + plotHeight - barHeight} width={barWidth} height={barHeight} rx={2} className={barClass(p.status)}>
            <title>
              {STATUS_LABEL[p.status]} · {p.durationSeconds === null ? "no duration" : formatDuration(value)}
            </title>
          </rect>
        );
      })}
      <text x={left} y={height - 4}>
        older
      </text>
      <text x={width} y={height - 4} textAnchor="end">
        latest
      </text>
    </svg>
    </div>
  );
}
