import { parse } from "graphql";
import type { Client as WsClient } from "graphql-ws/client";
import { describe, expect, it } from "vitest";
import { SessionStore, type AuthPayloadLike } from "../auth/session";
import { MemoryStorage } from "../test/MemoryStorage";
import { savedTheme } from "./defaults";
import { playgroundFetch, playgroundFetcher } from "./fetcher";

const user = { id: "1", email: "ada@example.com", role: "MEMBER" as const };
const signedIn = (): SessionStore => {
  const store = new SessionStore(new MemoryStorage(), async (): Promise<AuthPayloadLike> => {
    throw new Error("no refresh expected");
  });
  store.signIn({ accessToken: "session-token", refreshToken: "r", expiresIn: 900, user });
  return store;
};

/** A `fetch` that records the Authorization header of each call and answers `data`. */
function recordingFetch(seen: (string | null)[]): typeof fetch {
  return async (_input, init) => {
    seen.push(new Headers(init?.headers).get("authorization"));
    return new Response(JSON.stringify({ data: { me: { email: user.email } } }), {
      headers: { "content-type": "application/json" },
    });
  };
}

describe("the playground's fetch", () => {
  it("sends the dashboard session's token", async () => {
    const seen: (string | null)[] = [];
    await playgroundFetch(signedIn(), recordingFetch(seen))("/graphql", { method: "POST" });
    expect(seen).toEqual(["Bearer session-token"]);
  });

  it("keeps an Authorization header typed in the Headers tab", async () => {
    const seen: (string | null)[] = [];
    const headers = { Authorization: "Bearer dts_api_token" };
    await playgroundFetch(signedIn(), recordingFetch(seen))("/graphql", { method: "POST", headers });
    expect(seen).toEqual(["Bearer dts_api_token"]);
  });

  it("sends no token when nobody is signed in", async () => {
    const seen: (string | null)[] = [];
    const store = new SessionStore(new MemoryStorage(), async () => {
      throw new Error("no refresh expected");
    });
    await playgroundFetch(store, recordingFetch(seen))("/graphql", { method: "POST" });
    expect(seen).toEqual([null]);
  });
});

describe("the playground's fetcher", () => {
  it("runs queries over HTTP and subscriptions over the websocket client", async () => {
    const seen: (string | null)[] = [];
    const subscribed: string[] = [];
    const ws = {
      subscribe(payload: { query: string }, sink: { next: (v: unknown) => void; complete: () => void }) {
        subscribed.push(payload.query);
        // Like a socket: events arrive later, after the caller started listening.
        setTimeout(() => {
          sink.next({ data: { runEvents: { status: "RUNNING" } } });
          setTimeout(() => sink.complete(), 0);
        }, 0);
        return () => undefined;
      },
    } as unknown as WsClient;
    const fetcher = playgroundFetcher(signedIn(), ws, recordingFetch(seen));

    const query = "query Me { me { email } }";
    const answer = await fetcher({ query, operationName: "Me" }, { documentAST: parse(query) });
    expect(answer).toEqual({ data: { me: { email: user.email } } });
    expect(seen).toEqual(["Bearer session-token"]);

    const subscription = "subscription Runs { runEvents { status } }";
    const stream = (await fetcher(
      { query: subscription, operationName: "Runs" },
      { documentAST: parse(subscription) },
    )) as AsyncIterable<unknown>;
    const events: unknown[] = [];
    for await (const event of stream) events.push(event);
    expect(events).toEqual([{ data: { runEvents: { status: "RUNNING" } } }]);
    expect(subscribed).toEqual([subscription]);
    expect(seen).toHaveLength(1);
  });
});

describe("the playground's theme", () => {
  it("follows the dashboard's choice, else the system", () => {
    expect(savedTheme({ getItem: () => "dark" })).toBe("dark");
    expect(savedTheme({ getItem: () => "light" })).toBe("light");
    expect(savedTheme({ getItem: () => null })).toBeNull();
    expect(savedTheme({ getItem: () => "purple" })).toBeNull();
  });
});
