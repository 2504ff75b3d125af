import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConnectionMonitor, MAX_RETRY_DELAY_MS, OFFLINE_AFTER_MS, describeConnection, reconnectDelay } from "./connection";

const T0 = new Date(2026, 11, 3, 9, 5, 30).getTime();

describe("reconnectDelay", () => {
  it.each([
    [0, 0, 500],
    [0, 1, 1000],
    [1, 0, 1000],
    [2, 1, 4000],
    [3, 0.5, 6000],
    [10, 1, MAX_RETRY_DELAY_MS],
    [50, 0, MAX_RETRY_DELAY_MS / 2],
  ])("attempt %i with random %f waits %i ms", (attempt, random, expected) => {
    expect(reconnectDelay(attempt, () => random)).toBe(expected);
  });
});

describe("ConnectionMonitor", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it("starts connecting, then is live", () => {
    const monitor = new ConnectionMonitor();
    expect(monitor.snapshot.status).toBe("connecting");
    monitor.connected();
    expect(monitor.snapshot).toEqual({ status: "live", lostAt: null, attempts: 0, retryAt: null });
  });

  it("says reconnecting when the socket drops, offline after a while, live when it is back", () => {
    const monitor = new ConnectionMonitor(undefined, () => 0);
    const seen: string[] = [];
    monitor.subscribe(() => seen.push(monitor.snapshot.status));
    monitor.connected();
    monitor.closed(1006);
    expect(monitor.snapshot.status).toBe("reconnecting");
    expect(monitor.snapshot.lostAt).toBe(T0);

    // Failed attempts keep the time it was lost and count up.
    vi.advanceTimersByTime(3000);
    monitor.closed(1006);
    monitor.closed(1006);
    expect(monitor.snapshot).toMatchObject({ status: "reconnecting", lostAt: T0, attempts: 2 });

    vi.advanceTimersByTime(OFFLINE_AFTER_MS - 3000 - 1);
    expect(monitor.snapshot.status).toBe("reconnecting");
    vi.advanceTimersByTime(1);
    expect(monitor.snapshot).toMatchObject({ status: "offline", lostAt: T0 });

    monitor.connected();
    expect(monitor.snapshot).toEqual({ status: "live", lostAt: null, attempts: 0, retryAt: null });
    expect(seen).toContain("reconnecting");
    expect(seen).toContain("offline");
    expect(seen[seen.length - 1]).toBe("live");
  });

  it("does not go offline when it reconnects in time", () => {
    const monitor = new ConnectionMonitor();
    monitor.connected();
    monitor.closed(1006);
    vi.advanceTimersByTime(2000);
    monitor.connected();
    vi.advanceTimersByTime(OFFLINE_AFTER_MS * 2);
    expect(monitor.snapshot.status).toBe("live");
  });

  it("a clean close with nothing subscribed is not a lost connection", () => {
    const monitor = new ConnectionMonitor();
    monitor.closed(1000);
    expect(monitor.snapshot.status).toBe("connecting");
    vi.advanceTimersByTime(OFFLINE_AFTER_MS * 2);
    expect(monitor.snapshot.status).toBe("connecting");
  });

  it("a server that never answered reads as offline after a while", () => {
    const monitor = new ConnectionMonitor();
    monitor.closed(1006);
    expect(monitor.snapshot.status).toBe("connecting");
    vi.advanceTimersByTime(OFFLINE_AFTER_MS);
    expect(monitor.snapshot).toMatchObject({ status: "offline", lostAt: T0 });
  });

  it("the browser going offline is Offline at once", () => {
    const monitor = new ConnectionMonitor();
    monitor.connected();
    monitor.wentOffline();
    monitor.closed(1006);
    expect(monitor.snapshot).toMatchObject({ status: "offline", lostAt: T0 });
  });

  it("waits with backoff before each attempt, and retryNow cuts the wait short", async () => {
    const monitor = new ConnectionMonitor(undefined, () => 1);
    monitor.connected();
    monitor.closed(1006);
    let done = false;
    const wait = monitor.waitBeforeRetry(2).then(() => {
      done = true;
    });
    expect(monitor.snapshot.retryAt).toBe(T0 + 4000);
    await vi.advanceTimersByTimeAsync(3999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await wait;
    expect(done).toBe(true);
    expect(monitor.snapshot.retryAt).toBeNull();

    let early = false;
    const second = monitor.waitBeforeRetry(5).then(() => {
      early = true;
    });
    monitor.retryNow();
    await second;
    expect(early).toBe(true);
  });

  it("coming back online retries at once", async () => {
    const monitor = new ConnectionMonitor();
    monitor.connected();
    monitor.wentOffline();
    monitor.closed(1006);
    let done = false;
    const wait = monitor.waitBeforeRetry(4).then(() => {
      done = true;
    });
    monitor.cameOnline();
    await wait;
    expect(done).toBe(true);
  });
});

describe("describeConnection", () => {
  const base = { lostAt: null, attempts: 0, retryAt: null };
  it("names each state as a person reads it", () => {
    expect(describeConnection({ ...base, status: "live" }, T0).label).toBe("Live");
    expect(describeConnection({ ...base, status: "connecting" }, T0).label).toBe("Connecting…");
    expect(describeConnection({ ...base, status: "reconnecting", lostAt: T0 }, T0).label).toBe("Reconnecting…");
    expect(describeConnection({ ...base, status: "offline", lostAt: T0 }, T0).label).toBe("Offline since 09:05");
  });

  it("says when the next attempt is", () => {
    const state = { status: "offline" as const, lostAt: T0, attempts: 3, retryAt: T0 + 60_000 + 4_200 };
    expect(describeConnection(state, T0 + 60_000).detail).toContain("Next attempt in 5 s.");
  });
});
