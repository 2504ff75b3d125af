// The GraphQL playground at /graphql: GraphiQL, built with the dashboard and served by dts
// itself (no CDN), signed in with the dashboard's session.
import "./workers";
import { GraphiQL } from "graphiql";
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { createApiClients } from "../api/client";
import type { StoredSession } from "../auth/session";
import { session } from "../auth/sessionInstance";
import { playgroundFetcher } from "./fetcher";
import { playgroundStorage } from "./storage";
import { DEFAULT_QUERY, savedTheme } from "./defaults";
import "graphiql/style.css";
import "./playground.css";

const { ws } = createApiClients(session);
const fetcher = playgroundFetcher(session, ws);
const storage = playgroundStorage();

// The socket authenticates once, when it connects: after signing in or out (here or in
// another tab) drop it, and the next subscription connects as the new user.
let signedInAs = session.read()?.user.id ?? null;
session.subscribe((next) => {
  const id = next?.user.id ?? null;
  if (id !== signedInAs) ws.terminate();
  signedInAs = id;
});

function SessionBar() {
  const [current, setCurrent] = useState<StoredSession | null>(() => session.read());
  useEffect(() => session.subscribe((next) => setCurrent(next)), []);
  return (
    <header className="playground-bar">
      <a className="playground-home" href="/jobs" title="Back to the dashboard">
        dts
      </a>
      <span className="playground-title">GraphQL playground</span>
      <span className="playground-session" role="status">
        {current ? (
          <>
            Signed in as <strong>{current.user.email}</strong>: requests and subscriptions use
            your session.
          </>
        ) : (
          <>
            Not signed in: requests run anonymously.{" "}
            <a href="/login" target="_blank" rel="noopener">
              Sign in
            </a>{" "}
            (in a new tab; this page picks the session up).
          </>
        )}
      </span>
    </header>
  );
}

function Playground() {
  return (
    <div className="playground">
      <SessionBar />
      <div className="playground-ide">
        <GraphiQL
          fetcher={fetcher}
          storage={storage}
          defaultQuery={DEFAULT_QUERY}
          defaultTheme={savedTheme()}
        />
      </div>
    </div>
  );
}

const root = document.getElementById("playground");
if (!root) throw new Error("graphiql.html has no #playground element");

createRoot(root).render(
  <StrictMode>
    <Playground />
  </StrictMode>,
);
