import { act, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RelativeTime } from "../components/RelativeTime";
import { SharedClock, sharedClock } from "./clock";

describe("SharedClock", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs one timer for all its listeners, and none without listeners", () => {
    const clock = new SharedClock(10_000);
    const a = vi.fn();
    const b = vi.fn();
    const stopA = clock.subscribe(a);
    const stopB = clock.subscribe(b);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
    stopA();
    stopB();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("reads the same time between ticks", () => {
    vi.setSystemTime(1_000_000);
    const clock = new SharedClock(10_000);
    const stop = clock.subscribe(() => undefined);
    vi.setSystemTime(1_005_000);
    expect(clock.read()).toBe(1_000_000);
    vi.advanceTimersByTime(10_000);
    expect(clock.read()).toBe(1_015_000);
    stop();
  });
});

describe("RelativeTime", () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] }));
  afterEach(() => vi.useRealTimers());

  it("ages from 'just now' to '2 minutes ago' on the shared timer, all labels together", () => {
    const start = new Date("2026-12-03T09:00:00Z").getTime();
    vi.setSystemTime(start);
    const iso = new Date(start).toISOString();
    render(
      <>
        <RelativeTime iso={iso} />
        <RelativeTime iso={iso} />
      </>,
    );
    expect(screen.getAllByText("just now")).toHaveLength(2);
    expect(sharedClock().listenerCount).toBe(2);
    act(() => {
      vi.advanceTimersByTime(120_000);
    });
    expect(screen.getAllByText("2 minutes ago")).toHaveLength(2);
  });
});
