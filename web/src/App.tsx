// Routes: the auth pages for visitors, the dashboard for signed-in users.
import { useEffect } from "react";
import { useSession } from "./auth/SessionProvider";
import { Layout } from "./components/Layout";
import { EmptyState, ToastProvider } from "./components/ui";
import { AccountPage } from "./pages/AccountPage";
import { AdminPage } from "./pages/AdminPage";
import { ForgotPasswordPage, ResetPasswordPage, SignInPage, SignUpPage } from "./pages/AuthPages";
import { IncidentsPage } from "./pages/IncidentsPage";
import { InspectorPage } from "./pages/InspectorPage";
import { JobDetailPage } from "./pages/JobDetailPage";
import { EditJobPage, NewJobPage } from "./pages/JobFormPage";
import { JobsPage } from "./pages/JobsPage";
import { NotificationsPage } from "./pages/NotificationsPage";
import { MonitorDetailPage } from "./pages/MonitorDetailPage";
import { EditMonitorPage, NewMonitorPage } from "./pages/MonitorFormPage";
import { MonitorsPage } from "./pages/MonitorsPage";
import { RunDetailPage } from "./pages/RunDetailPage";
import { RunsPage } from "./pages/RunsPage";
import { TokensPage } from "./pages/TokensPage";
import { WorkersPage } from "./pages/WorkersPage";
import { Link, matchPath, useRouter } from "./router";

const PUBLIC_PATHS = ["/login", "/signup", "/forgot", "/reset"];

function Redirect({ to }: { to: string }) {
  const { navigate } = useRouter();
  useEffect(() => navigate(to, { replace: true }), [navigate, to]);
  return null;
}

function SignedInRoutes() {
  const { location } = useRouter();
  const path = location.path.replace(/\/+$/, "") || "/";
  let params: Record<string, string> | null;
  if (path === "/" || path === "/jobs") return <JobsPage />;
  if (path === "/jobs/new") return <NewJobPage />;
  if ((params = matchPath("/jobs/:id/edit", path))) return <EditJobPage key={params.id} id={params.id as string} />;
  if ((params = matchPath("/jobs/:id", path))) return <JobDetailPage key={params.id} id={params.id as string} />;
  if (path === "/monitors") return <MonitorsPage />;
  if (path === "/monitors/new") return <NewMonitorPage />;
  if ((params = matchPath("/monitors/:id/edit", path))) return <EditMonitorPage key={params.id} id={params.id as string} />;
  if ((params = matchPath("/monitors/:id", path))) return <MonitorDetailPage key={params.id} id={params.id as string} />;
  if (path === "/runs") return <RunsPage />;
  if ((params = matchPath("/runs/:id", path))) return <RunDetailPage key={params.id} id={params.id as string} />;
  if (path === "/inspector") return <InspectorPage />;
  if (path === "/incidents") return <IncidentsPage />;
  if (path === "/notifications") return <NotificationsPage />;
  if (path === "/tokens") return <TokensPage />;
  if (path === "/workers") return <WorkersPage />;
  if (path === "/account") return <AccountPage />;
  if (path === "/admin") return <AdminPage tab="users" />;
  if ((params = matchPath("/admin/:tab", path))) return <AdminPage tab={params.tab as string} />;
  return (
    <div className="card">
      <EmptyState title="Page not found" action={<Link to="/jobs" className="btn">Go to jobs</Link>}>
        Nothing lives at {location.path}.
      </EmptyState>
    </div>
  );
}

export function App() {
  const { user } = useSession();
  const { location } = useRouter();
  const path = location.path;

  let page;
  if (path === "/reset") page = <ResetPasswordPage />;
  else if (!user) {
    if (path === "/signup") page = <SignUpPage />;
    else if (path === "/forgot") page = <ForgotPasswordPage />;
    else if (path === "/login") page = <SignInPage />;
    else {
      const next = path === "/" ? "" : `?next=${encodeURIComponent(path + (window.location.search || ""))}`;
      page = <Redirect to={`/login${next}`} />;
    }
  } else if (PUBLIC_PATHS.includes(path)) {
    page = <Redirect to={location.search.get("next") ?? "/jobs"} />;
  } else {
    page = (
      <Layout>
        <SignedInRoutes />
      </Layout>
    );
  }
  return <ToastProvider>{page}</ToastProvider>;
}
