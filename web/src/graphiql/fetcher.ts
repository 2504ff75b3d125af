// The playground's fetcher: HTTP with the dashboard's session, subscriptions over the
// dashboard's graphql-ws client (so both authenticate exactly as the dashboard does).
import { createGraphiQLFetcher, type Fetcher } from "@graphiql/toolkit";
import type { Client as WsClient } from "graphql-ws/client";
import { authenticatedFetch } from "../api/client";
import type { SessionStore } from "../auth/session";

export const GRAPHQL_URL = "/graphql";

/**
 * `fetch` for the playground: the signed-in user's token (refreshed like the dashboard's),
 * unless the Headers tab sets its own `Authorization` (an API token, another user), which
 * is then sent as typed and never replaced.
 */
export function playgroundFetch(store: SessionStore, base: typeof fetch = fetch): typeof fetch {
  const withSession = authenticatedFetch(store, base);
  return (input, init) => {
    const own = new Headers(init?.headers).has("authorization");
    return own ? base(input, init) : withSession(input, init);
  };
}

export function playgroundFetcher(
  store: SessionStore,
  ws: WsClient,
  base: typeof fetch = fetch,
): Fetcher {
  return createGraphiQLFetcher({
    url: GRAPHQL_URL,
    wsClient: ws,
    fetch: playgroundFetch(store, base),
    // dts answers plain JSON (no @defer/@stream): the simple fetcher, no multipart parsing.
    enableIncrementalDelivery: false,
  });
}
