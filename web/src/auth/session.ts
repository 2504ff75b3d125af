// The signed-in session: tokens in localStorage, refreshed before they expire.
//
// Refresh tokens rotate and a reused one signs the whole session family out, so exactly one
// refresh may be in flight: within a tab a shared promise, across tabs a Web Lock, and
// inside the lock we re-read storage, because another tab may already have rotated it.
import type { Role } from "../gql/graphql";

export interface SessionUser {
  id: string;
  email: string;
  role: Role;
}

export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, in ms since the epoch. */
  expiresAt: number;
  /** When to refresh it: a minute before it expires (a quarter of its life if shorter). */
  refreshAt: number;
  user: SessionUser;
}

export interface AuthPayloadLike {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: SessionUser;
}

export type RefreshCall = (refreshToken: string) => Promise<AuthPayloadLike>;

/** Thrown by a RefreshCall when the server refused the token (the session is over). */
export class SessionEnded extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SessionEnded";
  }
}

export type LockFn = <T>(name: string, run: () => Promise<T>) => Promise<T>;

const STORAGE_KEY = "dts.session";
/** Refresh this long before the access token expires, so requests never race the expiry. */
export const REFRESH_MARGIN_MS = 60_000;

export function refreshMargin(lifetimeMs: number): number {
  return Math.min(REFRESH_MARGIN_MS, lifetimeMs / 4);
}

export function browserLock(): LockFn {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (!locks) return (_name, run) => run();
  return <T>(name: string, run: () => Promise<T>) => locks.request(name, run) as Promise<T>;
}

type Listener = (session: StoredSession | null, reason: string | null) => void;

export class SessionStore {
  private inflight: Promise<StoredSession | null> | null = null;
  private listeners = new Set<Listener>();
  private endReason: string | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly refreshCall: RefreshCall,
    private readonly lock: LockFn = browserLock(),
    private readonly now: () => number = Date.now,
  ) {}

  read(): StoredSession | null {
    const raw = this.storage.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      const parsed = JSON.parse(raw) as StoredSession;
      return parsed.accessToken && parsed.refreshToken && parsed.user ? parsed : null;
    } catch {
      return null;
    }
  }

  /** Why the last session ended, if the server ended it (shown on the sign-in page). */
  get lastEndReason(): string | null {
    return this.endReason;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Another tab changed storage: tell the listeners (sign-in or sign-out elsewhere). */
  storageChanged(): void {
    this.emit(this.read(), null);
  }

  signIn(payload: AuthPayloadLike): StoredSession {
    const session = this.fromPayload(payload);
    this.storage.setItem(STORAGE_KEY, JSON.stringify(session));
    this.endReason = null;
    this.emit(session, null);
    return session;
  }

  updateUser(user: SessionUser): void {
    const current = this.read();
    if (!current || current.user.id !== user.id) return;
    if (current.user.role === user.role && current.user.email === user.email) return;
    const next = { ...current, user };
    this.storage.setItem(STORAGE_KEY, JSON.stringify(next));
    this.emit(next, null);
  }

  signOut(reason: string | null = null): void {
    this.storage.removeItem(STORAGE_KEY);
    this.endReason = reason;
    this.emit(null, reason);
  }

  /** A usable access token: the stored one, or a fresh one when it is about to expire. */
  async accessToken(): Promise<string | null> {
    const current = this.read();
    if (!current) return null;
    if (this.now() < (current.refreshAt ?? current.expiresAt - REFRESH_MARGIN_MS)) return current.accessToken;
    const fresh = await this.refresh(current.refreshToken);
    return fresh?.accessToken ?? null;
  }

  /**
   * Rotate the refresh token. `seen` is the refresh token the caller knew about: if storage
   * already holds a different one, someone else refreshed and we use theirs.
   */
  refresh(seen?: string): Promise<StoredSession | null> {
    if (this.inflight) return this.inflight;
    const known = seen ?? this.read()?.refreshToken;
    this.inflight = this.lock("dts.refresh", async () => {
      const current = this.read();
      if (!current) return null;
      if (known && current.refreshToken !== known) return current;
      try {
        const payload = await this.refreshCall(current.refreshToken);
        const next = this.fromPayload(payload);
        this.storage.setItem(STORAGE_KEY, JSON.stringify(next));
        this.emit(next, null);
        return next;
      } catch (error) {
        if (error instanceof SessionEnded) {
          this.signOut(error.message);
          return null;
        }
        throw error; // a network failure: keep the session and let the caller retry
      }
    }).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private fromPayload(payload: AuthPayloadLike): StoredSession {
    const lifetime = payload.expiresIn * 1000;
    return {
      accessToken: payload.accessToken,
      refreshToken: payload.refreshToken,
      expiresAt: this.now() + lifetime,
      refreshAt: this.now() + lifetime - refreshMargin(lifetime),
      user: { id: payload.user.id, email: payload.user.email, role: payload.user.role },
    };
  }

  private emit(session: StoredSession | null, reason: string | null): void {
    for (const listener of this.listeners) listener(session, reason);
  }
}
