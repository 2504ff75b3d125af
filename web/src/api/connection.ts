// The live connection's state as a person reads it: Live, Reconnecting…, Offline since HH:MM.
//
// A small state machine fed by the websocket client's events (connecting, connected,
// closed) and the browser's online/offline events. It also owns the reconnect backoff, so
// the badge can say when the next attempt is and "Retry now" can cut the wait short.
import { createContext, useContext, useSyncExternalStore } from "react";

export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "offline";

export interface ConnectionState {
  status: ConnectionStatus;
  /** When the connection was lost (ms since the epoch); null while live or never connected. */
  lostAt: number | null;
  /** Failed attempts since the connection was lost. */
  attempts: number;
  /** When the next attempt starts, while waiting for one. */
  retryAt: number | null;
}

/** Reconnecting for this long, then the badge says Offline (and keeps retrying). */
export const OFFLINE_AFTER_MS = 10_000;
/** The longest wait between two attempts. */
export const MAX_RETRY_DELAY_MS = 10_000;
const FIRST_RETRY_DELAY_MS = 1_000;

/**
 * Wait before reconnect attempt `attempt` (0 first): doubling from 1 s up to 10 s, with
 * jitter over the upper half so a restarted server is not hit by every tab at once.
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_DELAY_MS * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

export interface Timers {
  now: () => number;
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const browserTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

type Listener = () => void;

export class ConnectionMonitor {
  private state: ConnectionState = { status: "connecting", lostAt: null, attempts: 0, retryAt: null };
  private listeners = new Set<Listener>();
  private offlineTimer: unknown = null;
  private waitTimer: unknown = null;
  private wake: (() => void) | null = null;
  private browserOffline = false;

  constructor(
    private readonly timers: Timers = browserTimers,
    private readonly random: () => number = Math.random,
  ) {}

  get snapshot(): ConnectionState {
    return this.state;
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ConnectionState => this.state;

  /** The socket is open and the server acknowledged us. */
  connected(): void {
    this.clearOfflineTimer();
    this.browserOffline = false;
    this.set({ status: "live", lostAt: null, attempts: 0, retryAt: null });
  }

  /** The socket closed. A clean close with no subscriptions left (1000) is not a loss. */
  closed(code: number): void {
    if (code === 1000 && this.state.status !== "live") return;
    if (this.state.lostAt === null) {
      // The first failure since we were live (or since the first attempt).
      const lostAt = this.timers.now();
      const status = this.browserOffline ? "offline" : this.state.status === "live" ? "reconnecting" : "connecting";
      this.set({ status, lostAt, attempts: 0, retryAt: null });
      this.armOfflineTimer();
      return;
    }
    this.set({ ...this.state, attempts: this.state.attempts + 1 });
  }

  /** The browser says the network is gone: no point saying "Reconnecting…". */
  wentOffline(): void {
    this.browserOffline = true;
    if (this.state.status === "live") return; // the socket's close follows and says so
    this.goOffline();
  }

  /** The network is back: try now instead of waiting out the backoff. */
  cameOnline(): void {
    this.browserOffline = false;
    this.retryNow();
  }

  /**
   * Wait before the next attempt (the websocket client's retryWait). Resolves early when
   * `retryNow` is called.
   */
  waitBeforeRetry(attempt: number): Promise<void> {
    const delay = reconnectDelay(attempt, this.random);
    this.set({ ...this.state, retryAt: this.timers.now() + delay });
    return new Promise<void>((resolve) => {
      const done = () => {
        if (this.waitTimer !== null) this.timers.clearTimeout(this.waitTimer);
        this.waitTimer = null;
        this.wake = null;
        if (this.state.retryAt !== null) this.set({ ...this.state, retryAt: null });
        resolve();
      };
      this.wake = done;
      this.waitTimer = this.timers.setTimeout(done, delay);
    });
  }

  /** Cut the current wait short ("Retry now", or the network came back). */
  retryNow(): void {
    this.wake?.();
  }

  dispose(): void {
    this.clearOfflineTimer();
    this.retryNow();
    this.listeners.clear();
  }

  private armOfflineTimer(): void {
    this.clearOfflineTimer();
    if (this.state.status === "offline") return;
    const lostAt = this.state.lostAt ?? this.timers.now();
    const remaining = Math.max(0, lostAt + OFFLINE_AFTER_MS - this.timers.now());
    this.offlineTimer = this.timers.setTimeout(() => {
      this.offlineTimer = null;
      if (this.state.status !== "live") this.goOffline();
    }, remaining);
  }

  private goOffline(): void {
    this.clearOfflineTimer();
    this.set({ ...this.state, status: "offline", lostAt: this.state.lostAt ?? this.timers.now() });
  }

  private clearOfflineTimer(): void {
    if (this.offlineTimer !== null) this.timers.clearTimeout(this.offlineTimer);
    this.offlineTimer = null;
  }

  private set(next: ConnectionState): void {
    this.state = next;
    for (const listener of [...this.listeners]) listener();
  }
}

const clock = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

/** "09:05": a time of day in the viewer's zone. */
export function clockTime(ms: number): string {
  return clock.format(new Date(ms));
}

/** The badge's words and its longer explanation. */
export function describeConnection(state: ConnectionState, now: number): { label: string; detail: string } {
  const retry =
    state.retryAt !== null
      ? ` Next attempt in ${Math.max(1, Math.ceil((state.retryAt - now) / 1000))} s.`
      : " Trying now.";
  switch (state.status) {
    case "live":
      return { label: "Live", detail: "Connected: pages update as jobs change and runs start and finish." };
    case "connecting":
      return { label: "Connecting…", detail: "Opening the live connection to the server." };
    case "reconnecting":
      return {
        label: "Reconnecting…",
        detail: `Lost the live connection at ${clockTime(state.lostAt ?? now)}.${retry} Nothing is missed: updates resume where they stopped.`,
      };
    case "offline":
      return {
        label: `Offline since ${clockTime(state.lostAt ?? now)}`,
        detail: `The server cannot be reached; what you see may be out of date.${retry} Updates resume where they stopped.`,
      };
  }
}

export const ConnectionContext = createContext<ConnectionMonitor | null>(null);

const DISCONNECTED: ConnectionState = { status: "connecting", lostAt: null, attempts: 0, retryAt: null };
const noMonitor = {
  subscribe: () => () => undefined,
  getSnapshot: () => DISCONNECTED,
};

/** The live connection's state (re-renders when it changes). */
export function useConnection(): { state: ConnectionState; monitor: ConnectionMonitor | null } {
  const monitor = useContext(ConnectionContext);
  const source = monitor ?? noMonitor;
  const state = useSyncExternalStore(source.subscribe, source.getSnapshot);
  return { state, monitor };
}
