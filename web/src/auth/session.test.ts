import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../test/MemoryStorage";
import { REFRESH_MARGIN_MS, SessionEnded, SessionStore, refreshMargin, type AuthPayloadLike } from "./session";

const user = { id: "1", email: "a@example.com", role: "MEMBER" as const };
const pair = (n: number): AuthPayloadLike => ({ accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn: 900, user });

describe("token refresh", () => {
  it("uses the access token until a minute before it expires", async () => {
    let now = 0;
    const calls: string[] = [];
    const store = new SessionStore(new MemoryStorage(), async (token) => (calls.push(token), pair(2)), undefined, () => now);
    store.signIn(pair(1));
    expect(await store.accessToken()).toBe("access-1");
    now = 900_000 - REFRESH_MARGIN_MS + 1;
    expect(await store.accessToken()).toBe("access-2");
    expect(calls).toEqual(["refresh-1"]);
  });

  it("refreshes short-lived tokens a quarter of their life early, not on every request", async () => {
    let now = 0;
    const calls: string[] = [];
    const store = new SessionStore(new MemoryStorage(), async (token) => (calls.push(token), pair(2)), undefined, () => now);
    store.signIn({ ...pair(1), expiresIn: 60 });
    expect(refreshMargin(60_000)).toBe(15_000);
    now = 44_000;
    expect(await store.accessToken()).toBe("access-1");
    now = 45_001;
    expect(await store.accessToken()).toBe("access-2");
    expect(calls).toEqual(["refresh-1"]);
  });

  it("keeps a single refresh in flight: a refresh token is never sent twice", async () => {
    const calls: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const store = new SessionStore(new MemoryStorage(), async (token) => {
      calls.push(token);
      await gate;
      return pair(2);
    });
    store.signIn({ ...pair(1), expiresIn: 0 });
    const all = Promise.all([store.accessToken(), store.accessToken(), store.refresh(), store.accessToken()]);
    release();
    expect(await all).toEqual(["access-2", "access-2", expect.objectContaining({ accessToken: "access-2" }), "access-2"]);
    expect(calls).toEqual(["refresh-1"]);
  });

  it("uses a token another tab already rotated instead of reusing the old one", async () => {
    const storage = new MemoryStorage();
    const calls: string[] = [];
    const tabA = new SessionStore(storage, async (token) => (calls.push(token), pair(2)));
    const tabB = new SessionStore(storage, async (token) => (calls.push(token), pair(3)));
    tabA.signIn({ ...pair(1), expiresIn: 0 });
    await tabA.refresh("refresh-1");
    const session = await tabB.refresh("refresh-1");
    expect(session?.refreshToken).toBe("refresh-2");
    expect(calls).toEqual(["refresh-1"]);
  });

  it("signs out with the server's reason when the refresh token is refused", async () => {
    const store = new SessionStore(new MemoryStorage(), async () => {
      throw new SessionEnded("refresh token was already used; for safety this session was signed out");
    });
    const reasons: (string | null)[] = [];
    store.subscribe((_, reason) => reasons.push(reason));
    store.signIn({ ...pair(1), expiresIn: 0 });
    expect(await store.accessToken()).toBeNull();
    expect(store.read()).toBeNull();
    expect(reasons.at(-1)).toMatch(/already used/);
  });

  it("keeps the session when the network fails, so a later try can refresh", async () => {
    const store = new SessionStore(new MemoryStorage(), async () => {
      throw new TypeError("Failed to fetch");
    });
    store.signIn({ ...pair(1), expiresIn: 0 });
    await expect(store.accessToken()).rejects.toThrow("Failed to fetch");
    expect(store.read()?.refreshToken).toBe("refresh-1");
  });
});
