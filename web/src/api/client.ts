// The urql client: HTTP with a fresh access token on every request, subscriptions over one
// graphql-ws connection that re-authenticates (and resumes) when it reconnects.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws/client";
import type { SessionStore } from "../auth/session";

function isUnauthenticated(body: unknown): boolean {
  const errors = (body as { errors?: { extensions?: { code?: string } }[] } | null)?.errors;
  return Array.isArray(errors) && errors.some((e) => e.extensions?.code === "unauthenticated");
}

/** `fetch` that sends the session's token, and on an expired one refreshes once and retries. */
export function authenticatedFetch(store: SessionStore, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const send = (token: string | null) => {
      const headers = new Headers(init?.headers);
      if (token) headers.set("authorization", `Bearer ${token}`);
      return base(input, { ...init, headers });
    };
    const token = await store.accessToken().catch(() => store.read()?.accessToken ?? null);
    const response = await send(token);
    if (!token) return response;
    const body: unknown = await response.clone().json().catch(() => null);
    if (!isUnauthenticated(body)) return response;
    const fresh = await store.refresh(store.read()?.refreshToken).catch(() => null);
    if (!fresh) {
      if (!store.read()) return response;
      store.signOut("your session ended; sign in again");
      return response;
    }
    const retried = await send(fresh.accessToken);
    const retriedBody: unknown = await retried.clone().json().catch(() => null);
    if (isUnauthenticated(retriedBody)) {
      const message =
        (retriedBody as { errors: { message: string }[] }).errors[0]?.message ?? "sign in again";
      store.signOut(message);
    }
    return retried;
  };
}

export function websocketUrl(location: Location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/graphql`;
}

export interface ApiClients {
  client: Client;
  ws: WsClient;
  dispose: () => void;
}

export function createApiClients(store: SessionStore): ApiClients {
  const ws = createWsClient({
    url: websocketUrl(window.location),
    lazy: true,
    lazyCloseTimeout: 3000,
    keepAlive: 20_000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      const delay = Math.min(10_000, 500 * 2 ** retries) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    },
    connectionParams: async () => {
      const token = await store.accessToken().catch(() => store.read()?.accessToken ?? null);
      return token ? { authorization: `Bearer ${token}` } : {};
    },
  });

  const client = new Client({
    url: "/graphql",
    fetch: authenticatedFetch(store),
    preferGetMethod: false,
    requestPolicy: "cache-and-network",
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });

  return { client, ws, dispose: () => void ws.dispose() };
}
