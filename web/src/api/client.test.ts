// The live connection's close codes against a websocket server speaking graphql-transport-ws
// on loopback: 4401 refreshes the token once and resumes, 4403 signs out.
import { pipe, subscribe } from "wonka";
import { createServer, type Server } from "node:http";
import { WebSocket, WebSocketServer } from "ws";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionStore, SessionEnded, type AuthPayloadLike } from "../auth/session";
import { createApiClients, type ApiClients } from "./client";
import { ConnectionMonitor } from "./connection";
import { JobEventsSubscription } from "./operations";

interface Subscribe {
  token: string;
  variables: Record<string, unknown>;
}

/** A graphql-transport-ws server whose answers each test scripts per connection. */
class StandInServer {
  readonly wss: WebSocketServer;
  readonly subscribes: Subscribe[] = [];
  readonly inits: string[] = [];
  /** The payloads of the pings the client sent. */
  readonly pings: unknown[] = [];
  /** Whether to answer pings (a frozen connection does not). */
  answerPings: (count: number) => boolean = () => true;
  /** What to do with a connection_init carrying this token: accept, or close with a code. */
  onInit: (token: string, count: number) => { close: number; reason?: string } | "accept" = () => "accept";
  /** Events sent right after each subscribe (the next event id is counted globally). */
  onSubscribe: (socket: WebSocket, id: string, subscribe: Subscribe) => void = () => undefined;

  /** The operation names POSTed to /graphql (answered with `me`). */
  readonly queries: string[] = [];
  readonly http: Server;

  constructor() {
    this.http = createServer((request, response) => {
      // The test page's origin is not this server's: answer the browser's CORS checks.
      response.setHeader("access-control-allow-origin", "*");
      response.setHeader("access-control-allow-headers", "*");
      if (request.method === "OPTIONS") {
        response.writeHead(204);
        response.end();
        return;
      }
      let body = "";
      request.on("data", (chunk) => (body += String(chunk)));
      request.on("end", () => {
        const query = String((JSON.parse(body || "{}") as { query?: string }).query ?? "");
        this.queries.push(/query (\w+)/.exec(query)?.[1] ?? query);
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ data: { me: { id: "1", email: "me@example.com", role: "VIEWER", disabled: false } } }));
      });
    });
    this.http.listen(0, "127.0.0.1");
    this.wss = new WebSocketServer({ server: this.http, handleProtocols: () => "graphql-transport-ws" });
    this.wss.on("connection", (socket) => {
      let token = "";
      socket.on("message", (raw) => {
        const message = JSON.parse(String(raw)) as { type: string; id?: string; payload?: Record<string, unknown> };
        if (message.type === "connection_init") {
          token = String((message.payload?.authorization as string | undefined) ?? "").replace("Bearer ", "");
          this.inits.push(token);
          const answer = this.onInit(token, this.inits.length);
          if (answer === "accept") socket.send(JSON.stringify({ type: "connection_ack" }));
          else socket.close(answer.close, answer.reason);
        } else if (message.type === "subscribe") {
          const payload = message.payload as { variables?: Record<string, unknown> };
          const sub = { token, variables: { ...(payload.variables ?? {}) } };
          this.subscribes.push(sub);
          this.onSubscribe(socket, message.id as string, sub);
        } else if (message.type === "ping") {
          if (message.payload) this.pings.push(message.payload);
          if (this.answerPings(this.inits.length)) socket.send(JSON.stringify({ type: "pong" }));
        }
      });
    });
  }

  get url(): string {
    const address = this.http.address() as { port: number };
    return `ws://127.0.0.1:${address.port}/graphql`;
  }

  listening(): Promise<void> {
    return new Promise((resolve) => {
      if (this.http.listening) resolve();
      else this.http.once("listening", () => resolve());
    });
  }

  get httpUrl(): string {
    const address = this.http.address() as { port: number };
    return `http://127.0.0.1:${address.port}/graphql`;
  }

  close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    return new Promise((resolve) => this.wss.close(() => this.http.close(() => resolve())));
  }
}

function event(socket: WebSocket, id: string, eventId: string) {
  socket.send(
    JSON.stringify({
      id,
      type: "next",
      payload: { data: { jobEvents: { eventId, kind: "job.created", jobId: "1", runId: null, status: null, at: "2026-12-03T09:00:00Z" } } },
    }),
  );
}

function payload(accessToken: string, refreshToken: string): AuthPayloadLike {
  return { accessToken, refreshToken, expiresIn: 900, user: { id: "1", email: "me@example.com", role: "MEMBER" } };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("the live connection's close codes", () => {
  let server: StandInServer;
  let clients: ApiClients | null = null;
  let refreshes: string[];
  let refreshAnswer: (token: string) => Promise<AuthPayloadLike>;
  let store: SessionStore;

  beforeEach(async () => {
    window.localStorage.clear();
    server = new StandInServer();
    await server.listening();
    refreshes = [];
    refreshAnswer = async () => payload("fresh", "r2");
    store = new SessionStore(window.localStorage, (token) => {
      refreshes.push(token);
      return refreshAnswer(token);
    }, (_name, run) => run());
    store.signIn(payload("old", "r1"));
  });

  afterEach(async () => {
    clients?.dispose();
    clients = null;
    await server.close();
  });

  function start(timing: { keepAliveMs?: number; pongTimeoutMs?: number } = {}) {
    // Retry at once: the backoff is tested on its own.
    const connection = new ConnectionMonitor(undefined, () => 0);
    connection.waitBeforeRetry = () => Promise.resolve();
    clients = createApiClients(store, { url: server.url, httpUrl: server.httpUrl, webSocketImpl: WebSocket, connection, ...timing });
    const seen: string[] = [];
    const errors: unknown[] = [];
    pipe(
      clients.client.subscription(JobEventsSubscription, { afterEventId: "3" }),
      subscribe((result) => {
        if (result.error) errors.push(result.error);
        const id = result.data?.jobEvents.eventId;
        if (id) seen.push(id);
      }),
    );
    return { seen, errors, connection };
  }

  it("4401: refreshes the token once, reconnects with it and resumes after the last event", async () => {
    server.onSubscribe = (socket, id, sub) => {
      if (sub.token === "old") {
        event(socket, id, "4");
        event(socket, id, "5");
        setTimeout(() => socket.close(4401, "token expired"), 20);
      } else {
        event(socket, id, "6");
      }
    };
    const { seen, connection } = start();
    await until(() => seen.includes("6"), "the event after the reconnect");
    expect(refreshes).toEqual(["r1"]);
    expect(server.subscribes.map((s) => [s.token, s.variables.afterEventId])).toEqual([
      ["old", "3"],
      ["fresh", "5"],
    ]);
    expect(seen).toEqual(["4", "5", "6"]);
    expect(store.read()?.accessToken).toBe("fresh");
    await until(() => connection.snapshot.status === "live", "live again");
  });

  it("4401 again right after a refresh: the session is over", async () => {
    server.onInit = () => ({ close: 4401, reason: "token refused" });
    const { errors } = start();
    await until(() => store.read() === null, "the sign-out");
    expect(refreshes).toEqual(["r1"]);
    expect(store.lastEndReason).toBe("Your session ended; sign in again");
    await until(() => errors.length > 0, "the subscription's error");
  });

  it("4401 and the refresh token is refused: signed out with the server's reason", async () => {
    server.onInit = () => ({ close: 4401, reason: "token expired" });
    refreshAnswer = async () => {
      throw new SessionEnded("your session was signed out everywhere");
    };
    start();
    await until(() => store.read() === null, "the sign-out");
    expect(store.lastEndReason).toBe("your session was signed out everywhere");
    expect(server.inits).toEqual(["old"]);
  });

  it("4403: signs out with the server's reason and does not reconnect", async () => {
    server.onSubscribe = (socket) => setTimeout(() => socket.close(4403, "your account was disabled"), 20);
    start();
    await until(() => store.read() === null, "the sign-out");
    expect(store.lastEndReason).toBe("Signed out: your account was disabled");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.inits).toEqual(["old"]);
    expect(refreshes).toEqual([]);
  });

  it("a connection that stops answering pings is dropped and reconnected, resuming", async () => {
    // The first connection freezes after its first event: no pong, no close.
    server.answerPings = (connections) => connections > 1;
    server.onSubscribe = (socket, id, sub) => event(socket, id, sub.variables.afterEventId === "3" ? "4" : "5");
    const { seen, connection } = start({ keepAliveMs: 100, pongTimeoutMs: 150 });
    const states: string[] = [];
    connection.subscribe(() => states.push(connection.snapshot.status));
    await until(() => seen.includes("5"), "the event after the reconnect");
    expect(server.inits).toEqual(["old", "old"]);
    expect(server.subscribes.map((s) => s.variables.afterEventId)).toEqual(["3", "4"]);
    expect(states).toContain("reconnecting");
    await until(() => connection.snapshot.status === "live", "live again");
    expect(store.read()).not.toBeNull();
  });

  it("hands a refreshed token to the open socket in a ping, without reconnecting", async () => {
    // A token that is due for refresh in about a second.
    store.signIn({ ...payload("short", "r1"), expiresIn: 2 });
    server.onSubscribe = (socket, id) => event(socket, id, "4");
    const { seen } = start();
    await until(() => seen.includes("4"), "the first event");
    await until(() => server.pings.length > 0, "a ping with the fresh token");
    expect(refreshes).toEqual(["r1"]);
    expect(server.pings).toEqual([{ authorization: "Bearer fresh" }]);
    expect(server.inits).toEqual(["short"]);
  });

  it("4403 for a changed role: reconnects (and stays signed in) instead of signing out", async () => {
        server.onSubscribe = (socket, id, sub) => {
      if (server.subscribes.length === 1) setTimeout(() => socket.close(4403, "your role changed to VIEWER; reconnect to continue"), 20);
      else event(socket, id, sub.variables.afterEventId === "3" ? "4" : "5");
    };
    const { seen } = start();
    await until(() => seen.length > 0, "an event after the reconnect");
    expect(server.inits).toEqual(["old", "old"]);
    expect(store.read()).not.toBeNull();
    await until(() => server.queries.includes("Me"), "who am I, asked again");
  });
});
