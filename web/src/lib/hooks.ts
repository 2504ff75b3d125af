// Small React hooks shared by the pages.
import { useEffect, useRef, useState } from "react";
import { RELATIVE_TIME_TICK_MS, useNow as useSharedNow } from "./clock";

export function useDebounced<T>(value: T, delayMs: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return debounced;
}

/** Call `callback` every `ms` while the page is visible. */
export function useInterval(callback: () => void, ms: number | null): void {
  const saved = useRef(callback);
  useEffect(() => {
    saved.current = callback;
  }, [callback]);
  useEffect(() => {
    if (ms === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState !== "hidden") saved.current();
    }, ms);
    return () => clearInterval(timer);
  }, [ms]);
}

/** Re-render every `ms` (for "3 minutes ago" labels), on the page's shared clock. */
export function useNow(ms: number = RELATIVE_TIME_TICK_MS): number {
  return useSharedNow(ms);
}

/**
 * Run `callback` at most once per `ms`, and once more after the last call (a trailing
 * refetch), so a burst of live events costs one or two requests.
 */
export function useThrottled(callback: () => void, ms: number): () => void {
  const saved = useRef(callback);
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    saved.current = callback;
  }, [callback]);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const ref = useRef(() => {
    const now = Date.now();
    const wait = last.current + ms - now;
    if (wait <= 0) {
      last.current = now;
      saved.current();
      return;
    }
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      saved.current();
    }, wait);
  });
  return ref.current;
}

export function useDocumentTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · dts` : "dts";
  }, [title]);
}

/** The first defined value this hook saw (kept while later values change). */
export function useFirst<T>(value: T | undefined): T | undefined {
  const [first, setFirst] = useState<T | undefined>(value);
  useEffect(() => {
    if (first === undefined && value !== undefined) setFirst(value);
  }, [first, value]);
  return first ?? value;
}
