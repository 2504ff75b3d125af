// React glue for the session: who is signed in, and one urql client per signed-in user
// (so a sign-out also closes that user's websocket and forgets their cached data).
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { Provider as UrqlProvider } from "urql";
import { createApiClients } from "../api/client";
import { ConnectionContext } from "../api/connection";
import { LogoutMutation } from "../api/operations";
import { postGraphQL } from "../api/transport";
import type { AuthPayloadLike, SessionUser, StoredSession } from "./session";
import { session } from "./sessionInstance";

interface SessionValue {
  user: SessionUser | null;
  /** Why the previous session ended (shown once on the sign-in page). */
  endedReason: string | null;
  signIn: (payload: AuthPayloadLike) => void;
  signOut: () => Promise<void>;
  updateUser: (user: SessionUser) => void;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [stored, setStored] = useState<StoredSession | null>(() => session.read());
  const [endedReason, setEndedReason] = useState<string | null>(null);

  useEffect(
    () =>
      session.subscribe((next, reason) => {
        setStored(next);
        if (!next && reason) setEndedReason(reason);
        if (next) setEndedReason(null);
      }),
    [],
  );

  const userId = stored?.user.id ?? null;
  const clients = useMemo(() => (userId ? createApiClients(session) : null), [userId]);
  useEffect(() => () => clients?.dispose(), [clients]);

  const value = useMemo<SessionValue>(
    () => ({
      user: stored?.user ?? null,
      endedReason,
      signIn: (payload) => {
        session.signIn(payload);
      },
      signOut: async () => {
        const current = session.read();
        session.signOut(null);
        if (current) {
          await postGraphQL(LogoutMutation, { refreshToken: current.refreshToken }, current.accessToken).catch(
            () => undefined,
          );
        }
      },
      updateUser: (user) => session.updateUser(user),
    }),
    [stored, endedReason],
  );

  return (
    <SessionContext.Provider value={value}>
      {clients ? (
        <ConnectionContext.Provider value={clients.connection}>
          <UrqlProvider value={clients.client}>{children}</UrqlProvider>
        </ConnectionContext.Provider>
      ) : (
        children
      )}
    </SessionContext.Provider>
  );
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

export function useCurrentUser(): SessionUser {
  const { user } = useSession();
  if (!user) throw new Error("this page needs a signed-in user");
  return user;
}
