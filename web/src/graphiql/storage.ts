// GraphiQL's browser storage, with credentials kept out of what it saves.
//
// GraphiQL saves every operation it runs in its history ("graphiql:queries" and
// "graphiql:favorites" in localStorage) together with the Headers tab, even with "persist
// headers" off, so an API token typed there would stay in the browser for good. Here the
// secret headers (Authorization, Cookie, API keys: the same list as job headers) are taken
// out of those entries before they are stored; the rest of each entry is kept.
import type { Storage as GraphiQLStorage } from "@graphiql/toolkit";
import { isAlwaysSecret } from "../lib/headers";

const NAMESPACE = "graphiql:";
const HISTORY_KEYS = new Set(["graphiql:queries", "graphiql:favorites"]);

/** A Headers-tab text without its secret headers; null when nothing else is left. */
export function withoutSecretHeaders(headers: string | null | undefined): string | null {
  if (!headers || !headers.trim()) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(headers);
  } catch {
    return null; // not plain JSON (comments, a half-typed edit): keep none of it
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return null;
  const kept = Object.entries(parsed).filter(([name]) => !isAlwaysSecret(name));
  return kept.length ? JSON.stringify(Object.fromEntries(kept), null, 2) : null;
}

function redactHistory(key: string, value: string): string {
  try {
    const stored = JSON.parse(value) as Record<string, unknown>;
    const name = key.slice(NAMESPACE.length);
    const items = stored[name];
    if (!Array.isArray(items)) return value;
    const clean = items.map((item: unknown) =>
      item && typeof item === "object" && "headers" in item
        ? { ...item, headers: withoutSecretHeaders((item as { headers?: string | null }).headers) }
        : item,
    );
    return JSON.stringify({ ...stored, [name]: clean });
  } catch {
    return JSON.stringify({ [key.slice(NAMESPACE.length)]: [] });
  }
}

/** localStorage for GraphiQL: its own keys only (clearing never signs you out). */
export function playgroundStorage(base: Storage = window.localStorage): GraphiQLStorage {
  const ownKeys = () => {
    const keys: string[] = [];
    for (let i = 0; i < base.length; i++) {
      const key = base.key(i);
      if (key?.startsWith(NAMESPACE)) keys.push(key);
    }
    return keys;
  };
  return {
    getItem: (key) => base.getItem(key),
    setItem: (key, value) => base.setItem(key, HISTORY_KEYS.has(key) ? redactHistory(key, value) : value),
    removeItem: (key) => base.removeItem(key),
    clear: () => ownKeys().forEach((key) => base.removeItem(key)),
    get length() {
      return ownKeys().length;
    },
  };
}
