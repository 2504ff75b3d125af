// The urql client: HTTP with a fresh access token on every request, subscriptions over one
// graphql-ws connection that re-authenticates (and resumes) when it reconnects.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws/client";
import type { SessionStore } from "../auth/session";
import { ConnectionMonitor } from "./connection";
import { MeQuery } from "./operations";
import { advanceResumePoint } from "./resume";

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
  connection: ConnectionMonitor;
  dispose: () => void;
}

/** Close codes the server uses on the live connection (graphql-transport-ws and ours). */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;

/** Ping the server this often while connected… */
export const KEEPALIVE_MS = 10_000;
/** …and give up on the socket when its pong takes longer than this. */
export const PONG_TIMEOUT_MS = 5_000;
/** A server that accepted the socket but never acknowledged it is retried after this. */
export const ACK_TIMEOUT_MS = 10_000;

function closeCode(value: unknown): number | null {
  if (value && typeof value === "object" && "code" in value && typeof value.code === "number") return value.code;
  return null;
}

/** The server's 4403 for a changed role ("your role changed to viewer; reconnect…"). */
export function roleChanged(event: unknown): boolean {
  return closeCode(event) === CLOSE_FORBIDDEN && /\brole changed\b/i.test(closeReason(event));
}

function closeReason(value: unknown): string {
  if (value && typeof value === "object" && "reason" in value && typeof value.reason === "string") return value.reason;
  return "";
}

export interface ApiClientOptions {
  /** The websocket's URL (default: /graphql on this page's host). */
  url?: string;
  /** Where queries and mutations go (default: /graphql on this page's host). */
  httpUrl?: string;
  /** The WebSocket class (default: the browser's). */
  webSocketImpl?: unknown;
  connection?: ConnectionMonitor;
  /** Ping interval and pong timeout (tests shorten them). */
  keepAliveMs?: number;
  pongTimeoutMs?: number;
}

export function createApiClients(store: SessionStore, options: ApiClientOptions = {}): ApiClients {
  const connection = options.connection ?? new ConnectionMonitor();

  // 4401 (the token expired or was refused): refresh it once and reconnect. A second 4401
  // before the socket was accepted again means the session is over. Every subscription
  // on the socket fails at once, so they share one attempt.
  let reauthentication: Promise<boolean> | null = null;
  const reauthenticate = (): Promise<boolean> => {
    if (reauthentication) return reauthentication;
    const seen = store.read()?.refreshToken;
    reauthentication = (async () => {
      if (!seen) return false;
      try {
        const fresh = await store.refresh(seen);
        if (!fresh) return false; // the store signed out and said why
        return true;
      } catch {
        return true; // the network: keep the session, the reconnect backs off
      }
    })();
    return reauthentication;
  };
  let unauthorizedSinceConnect = false;

  // A connection that died without a close (a laptop asleep, a dropped network) still looks
  // open: ping every 10 s and drop the socket when no pong comes back in time, so the badge
  // and the reconnect do not wait for TCP to notice.
  let pongTimer: ReturnType<typeof setTimeout> | null = null;
  const stopPongTimer = () => {
    if (pongTimer !== null) clearTimeout(pongTimer);
    pongTimer = null;
  };

  // The server closes a socket when the token it was opened with expires, unless a ping
  // brings a fresh one. So: refresh the token when it is due (the store's refreshAt) while
  // connected, and hand every new token to the open socket in a ping's payload.
  let openSocket: { send: (data: string) => void; readyState: number } | null = null;
  let socketToken: string | null = null;
  let renewalTimer: ReturnType<typeof setTimeout> | null = null;
  const stopRenewal = () => {
    if (renewalTimer !== null) clearTimeout(renewalTimer);
    renewalTimer = null;
  };
  const scheduleRenewal = () => {
    stopRenewal();
    const current = store.read();
    if (!current || !openSocket) return;
    const due = current.refreshAt ?? current.expiresAt - 60_000;
    renewalTimer = setTimeout(() => void store.accessToken().catch(() => null), Math.max(0, due - Date.now()));
  };
  const unsubscribeStore = store.subscribe((next) => {
    if (!next || !openSocket || next.accessToken === socketToken) return;
    if (openSocket.readyState === 1) {
      openSocket.send(JSON.stringify({ type: "ping", payload: { authorization: `Bearer ${next.accessToken}` } }));
      socketToken = next.accessToken;
    }
    scheduleRenewal();
  });

  const ws = createWsClient({
    url: options.url ?? websocketUrl(window.location),
    webSocketImpl: options.webSocketImpl,
    lazy: true,
    lazyCloseTimeout: 3000,
    keepAlive: options.keepAliveMs ?? KEEPALIVE_MS,
    connectionAckWaitTimeout: ACK_TIMEOUT_MS,
    retryAttempts: Infinity,
    // 4403: this account may no longer do this (disabled, signed out everywhere): no retry.
    // A changed role is the exception: the server asks us to reconnect with the new one.
    shouldRetry: (event) => closeCode(event) !== CLOSE_FORBIDDEN || roleChanged(event),
    retryWait: (retries) => connection.waitBeforeRetry(retries),
    connectionParams: async () => {
      const token = await store.accessToken().catch(() => store.read()?.accessToken ?? null);
      socketToken = token;
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    on: {
      ping: (received) => {
        if (received) return;
        stopPongTimer();
        pongTimer = setTimeout(() => ws.terminate(), options.pongTimeoutMs ?? PONG_TIMEOUT_MS);
      },
      pong: (received) => {
        if (received) stopPongTimer();
      },
      connected: (socket) => {
        openSocket = socket as typeof openSocket;
        scheduleRenewal();
        unauthorizedSinceConnect = false;
        reauthentication = null;
        connection.connected();
      },
      closed: (event) => {
        stopPongTimer();
        openSocket = null;
        stopRenewal();
        const code = closeCode(event) ?? 1006;
        if (code === CLOSE_FORBIDDEN && roleChanged(event)) {
          // Re-read who we are: the pages show what the new role may do.
          void client.query(MeQuery, {}, { requestPolicy: "network-only" }).toPromise();
        } else if (code === CLOSE_FORBIDDEN && store.read()) {
          const reason = closeReason(event);
          store.signOut(reason ? `Signed out: ${reason}` : "Signed out: your access changed; sign in again");
          return;
        }
        connection.closed(code);
      },
    },
  });

  const onOnline = () => connection.cameOnline();
  const onOffline = () => connection.wentOffline();
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);

  const client = new Client({
    url: options.httpUrl ?? "/graphql",
    fetch: authenticatedFetch(store),
    preferGetMethod: false,
    requestPolicy: "cache-and-network",
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const query = request.query ?? "";
          // One payload object for the subscription's life: the websocket client sends it
          // again on every reconnect, so moving its variables past each result makes the
          // resubscription resume after the last event seen.
          const variables: Record<string, unknown> = { ...(request.variables ?? {}) };
          const payload = { ...request, query, variables };
          return {
            subscribe(sink) {
              let stopped = false;
              let dispose: () => void = () => undefined;
              const start = () => {
                dispose = ws.subscribe(payload, {
                  next: (result) => {
                    advanceResumePoint(query, variables, result.data);
                    sink.next(result as Parameters<typeof sink.next>[0]);
                  },
                  error: (error) => {
                    if (stopped) return;
                    if (closeCode(error) === CLOSE_UNAUTHORIZED && !unauthorizedSinceConnect) {
                      void reauthenticate().then((again) => {
                        unauthorizedSinceConnect = true;
                        if (again && !stopped) start();
                        else sink.error(error);
                      });
                      return;
                    }
                    if (closeCode(error) === CLOSE_UNAUTHORIZED && store.read()) {
                      store.signOut("Your session ended; sign in again");
                    }
                    sink.error(error);
                  },
                  complete: () => sink.complete(),
                });
              };
              start();
              return {
                unsubscribe: () => {
                  stopped = true;
                  dispose();
                },
              };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    ws,
    connection,
    dispose: () => {
      stopPongTimer();
      stopRenewal();
      unsubscribeStore();
      window.removeEventListener("online", onOnline);
      window.removeEventListener("offline", onOffline);
      connection.dispose();
      void ws.dispose();
    },
  };
}
