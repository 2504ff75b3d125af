// The signed-in shell: top bar with navigation, theme switch and the account menu.
import { useEffect, useState, type ReactNode } from "react";
import { useQuery } from "urql";
import { MeQuery } from "../api/operations";
import { useSession } from "../auth/SessionProvider";
import { applyTheme, nextTheme, readTheme, type ThemeChoice } from "../lib/theme";
import { Link, useRouter } from "../router";
import { LogoMark, MonitorIcon, MoonIcon, SunIcon } from "./icons";
import { LiveBadge } from "./LiveBadge";

export function ThemeToggle() {
  const [theme, setTheme] = useState<ThemeChoice>(readTheme);
  const label = { system: "Theme: follow the system", light: "Theme: light", dark: "Theme: dark" }[theme];
  return (
    <button
      type="button"
      className="btn btn-ghost btn-icon"
      title={`${label} (click to change)`}
      aria-label={`${label}; change theme`}
      onClick={() => {
        const next = nextTheme(theme);
        applyTheme(next);
        setTheme(next);
      }}
    >
      {theme === "system" ? <MonitorIcon /> : theme === "light" ? <SunIcon /> : <MoonIcon />}
    </button>
  );
}

export function Brand() {
  return (
    <Link to="/jobs" className="brand" aria-label="dts home">
      <span className="brand-mark">
        <LogoMark size={16} />
      </span>
      dts
    </Link>
  );
}

function NavLink({ to, children, match }: { to: string; children: ReactNode; match: (path: string) => boolean }) {
  const { location } = useRouter();
  return (
    <Link to={to} aria-current={match(location.path) ? "page" : undefined}>
      {children}
    </Link>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { user, updateUser } = useSession();
  const [{ data }] = useQuery({ query: MeQuery, requestPolicy: "network-only" });
  useEffect(() => {
    if (data?.me) updateUser({ id: data.me.id, email: data.me.email, role: data.me.role });
  }, [data, updateUser]);
  if (!user) return null;
  return (
    <>
      <header className="topbar">
        <div className="topbar-inner">
          <Brand />
          <nav className="nav" aria-label="Main">
            <NavLink to="/jobs" match={(p) => p === "/" || p.startsWith("/jobs")}>
              Jobs
            </NavLink>
            <NavLink to="/monitors" match={(p) => p.startsWith("/monitors")}>
              Monitors
            </NavLink>
            <NavLink to="/runs" match={(p) => p.startsWith("/runs")}>
              Runs
            </NavLink>
            <NavLink to="/incidents" match={(p) => p.startsWith("/incidents") || p.startsWith("/notifications")}>
              Incidents
            </NavLink>
            <NavLink to="/inspector" match={(p) => p.startsWith("/inspector")}>
              Inspector
            </NavLink>
            <NavLink to="/workers" match={(p) => p.startsWith("/workers")}>
              Workers
            </NavLink>
            <NavLink to="/tokens" match={(p) => p.startsWith("/tokens")}>
              API tokens
            </NavLink>
            {user.role === "ADMIN" ? (
              <NavLink to="/admin" match={(p) => p.startsWith("/admin")}>
                Admin
              </NavLink>
            ) : null}
          </nav>
          <div className="topbar-right">
            <LiveBadge />
            <ThemeToggle />
            <Link to="/account" className="user-chip" title={`${user.email} (${user.role.toLowerCase()})`}>
              <span className="avatar" aria-hidden="true">
                {user.email.slice(0, 1).toUpperCase()}
              </span>
              <span className="email">{user.email}</span>
            </Link>
          </div>
        </div>
      </header>
      <main className="main">{children}</main>
    </>
  );
}
