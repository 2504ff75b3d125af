// One shared clock for "just now" / "2 min ago" labels: a single timer per resolution for
// the whole page (not one per component), paused while the tab is hidden and brought up to
// date the moment it is shown again.
import { useSyncExternalStore } from "react";

/** How often relative times ("2 min ago") are brought up to date. */
export const RELATIVE_TIME_TICK_MS = 10_000;

type Listener = () => void;

export class SharedClock {
  private current: number;
  private listeners = new Set<Listener>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.current = now();
  }

  /** The time at the last tick (stable between ticks, as React's external stores need). */
  read = (): number => this.current;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    if (this.timer === null) {
      this.current = this.now();
      this.timer = setInterval(() => {
        if (typeof document === "undefined" || document.visibilityState !== "hidden") this.tick();
      }, this.intervalMs);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  };

  /** Move to the current time and tell every listener. */
  tick(): void {
    this.current = this.now();
    for (const listener of [...this.listeners]) listener();
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

const clocks = new Map<number, SharedClock>();

/** The page's clock ticking every `intervalMs` (one per interval, shared by all users). */
export function sharedClock(intervalMs: number = RELATIVE_TIME_TICK_MS): SharedClock {
  let clock = clocks.get(intervalMs);
  if (!clock) {
    clock = new SharedClock(intervalMs);
    clocks.set(intervalMs, clock);
  }
  return clock;
}

if (typeof document !== "undefined") {
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") for (const clock of clocks.values()) clock.tick();
  });
}

/** The current time, re-rendering on the shared clock's ticks. */
export function useNow(intervalMs: number = RELATIVE_TIME_TICK_MS): number {
  const clock = sharedClock(intervalMs);
  return useSyncExternalStore(clock.subscribe, clock.read);
}
