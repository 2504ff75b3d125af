import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../test/MemoryStorage";
import { playgroundStorage, withoutSecretHeaders } from "./storage";

describe("secret headers in the playground's saved history", () => {
  it("drops Authorization, Cookie and API keys, keeps the rest", () => {
    const typed = JSON.stringify({ Authorization: "Bearer dts_abc", "X-Trace": "1", cookie: "s=1" });
    expect(JSON.parse(withoutSecretHeaders(typed) ?? "null")).toEqual({ "X-Trace": "1" });
    expect(withoutSecretHeaders('{"authorization": "Bearer dts_abc"}')).toBeNull();
    expect(withoutSecretHeaders('{"X-API-Key": "k"}')).toBeNull();
  });

  it("keeps nothing it cannot read", () => {
    expect(withoutSecretHeaders('{"Authorization": "Bearer dts_abc" // mine\n}')).toBeNull();
    expect(withoutSecretHeaders('{"Authorization": "Bearer dts_a')).toBeNull();
    expect(withoutSecretHeaders("")).toBeNull();
    expect(withoutSecretHeaders(null)).toBeNull();
  });

  it("stores history and favourites without the token", () => {
    const local = new MemoryStorage();
    const storage = playgroundStorage(local);
    const entry = { query: "{ me { email } }", headers: '{"Authorization": "Bearer dts_secret"}' };
    storage.setItem("graphiql:queries", JSON.stringify({ queries: [entry] }));
    storage.setItem("graphiql:favorites", JSON.stringify({ favorites: [{ ...entry, favorite: true }] }));
    expect(local.getItem("graphiql:queries")).not.toContain("dts_secret");
    expect(local.getItem("graphiql:favorites")).not.toContain("dts_secret");
    expect(JSON.parse(local.getItem("graphiql:queries") ?? "{}")).toEqual({
      queries: [{ query: "{ me { email } }", headers: null }],
    });
    // Everything else GraphiQL stores is kept as given.
    storage.setItem("graphiql:query", "{ me { email } }");
    expect(storage.getItem("graphiql:query")).toBe("{ me { email } }");
  });

  it("clears only GraphiQL's keys: the dashboard session stays", () => {
    const local = new MemoryStorage();
    local.setItem("dts.session", "{}");
    local.setItem("dts.theme", "dark");
    const storage = playgroundStorage(local);
    storage.setItem("graphiql:query", "{ me { email } }");
    storage.setItem("graphiql:theme", "dark");
    expect(storage.length).toBe(2);
    storage.clear();
    expect(storage.length).toBe(0);
    expect(local.getItem("dts.session")).toBe("{}");
    expect(local.getItem("dts.theme")).toBe("dark");
  });
});
