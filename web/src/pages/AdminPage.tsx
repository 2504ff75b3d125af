// Admin: accounts (role, disable, create), every API token, and the audit log.
import { useMemo, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { errorReport, errorText, type ErrorReport } from "../api/errors";
import { AuditLogQuery, CreateUserMutation, SetUserDisabledMutation, SetUserRoleMutation, UsersQuery } from "../api/operations";
import { useCurrentUser } from "../auth/SessionProvider";
import { UsersIcon } from "../components/icons";
import { RelativeTime } from "../components/RelativeTime";
import { TokensPanel } from "../components/TokensPanel";
import { EmptyState, ErrorList, ErrorState, Field, SkeletonRows, Spinner, Switch, useToast } from "../components/ui";
import type { Role } from "../gql/graphql";
import { formatLocal, pluralize } from "../lib/format";
import { useDocumentTitle } from "../lib/hooks";
import { Link } from "../router";
import { Pager } from "../components/Pager";

const EMPTY: ErrorReport = { fields: {}, general: [], code: null };
const ROLE_HELP: Record<Role, string> = {
  ADMIN: "everything, including script jobs and accounts",
  MEMBER: "their own HTTP jobs",
  VIEWER: "reads every job and run, changes nothing",
};

export function AdminPage({ tab }: { tab: string }) {
  useDocumentTitle("Admin");
  const user = useCurrentUser();
  const [users] = useQuery({ query: UsersQuery, pause: user.role !== "ADMIN" });
  const emails = useMemo(() => new Map((users.data?.users ?? []).map((u) => [u.id, u.email])), [users.data]);
  if (user.role !== "ADMIN") {
    return (
      <div className="card">
        <EmptyState title="Admins only" action={<Link to="/jobs" className="btn">Back to jobs</Link>}>
          This page manages accounts and tokens; ask an admin if you need a change.
        </EmptyState>
      </div>
    );
  }
  const current = tab === "tokens" || tab === "audit" ? tab : "users";
  return (
    <>
      <div className="page-header">
        <div>
          <h1>Admin</h1>
          <p className="subtitle">Accounts, API tokens and who changed what.</p>
        </div>
      </div>
      <nav className="tabs" aria-label="Admin sections">
        <Link to="/admin" aria-current={current === "users" ? "page" : undefined}>
          Users
        </Link>
        <Link to="/admin/tokens" aria-current={current === "tokens" ? "page" : undefined}>
          API tokens
        </Link>
        <Link to="/admin/audit" aria-current={current === "audit" ? "page" : undefined}>
          Audit log
        </Link>
      </nav>
      {current === "users" ? <UsersPanel /> : current === "tokens" ? <TokensPanel allUsers userEmails={emails} /> : <AuditPanel />}
    </>
  );
}

function UsersPanel() {
  const me = useCurrentUser();
  const toast = useToast();
  const [result, reexecute] = useQuery({ query: UsersQuery });
  const [, setRole] = useMutation(SetUserRoleMutation);
  const [, setDisabled] = useMutation(SetUserDisabledMutation);
  const [, createUser] = useMutation(CreateUserMutation);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setNewRole] = useState<Role>("MEMBER");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(EMPTY);
    const res = await createUser({ email: email.trim(), password, role });
    setBusy(false);
    if (res.error) {
      setErrors(errorReport(res.error, ""));
      return;
    }
    toast(`Created ${email.trim()}`);
    setEmail("");
    setPassword("");
    reexecute({ requestPolicy: "network-only" });
  };

  const changeRole = async (userId: string, next: Role) => {
    const res = await setRole({ userId, role: next });
    if (res.error) toast(errorText(res.error), "error");
    else toast("Role changed");
    reexecute({ requestPolicy: "network-only" });
  };
  const changeDisabled = async (userId: string, disabled: boolean) => {
    const res = await setDisabled({ userId, disabled });
    if (res.error) toast(errorText(res.error), "error");
    else toast(disabled ? "Account disabled: its sessions end now" : "Account enabled");
    reexecute({ requestPolicy: "network-only" });
  };

  const users = result.data?.users ?? [];
  return (
    <div className="card">
      <div className="card-header">
        <h2>Users</h2>
        <span className="hint">{pluralize(users.length, "account")}</span>
      </div>
      <form className="card-body" onSubmit={submit} noValidate aria-label="Create a user">
        <ErrorList messages={errors.general} />
        <div className="field-row" style={{ gridTemplateColumns: "minmax(0,2fr) minmax(0,2fr) minmax(0,1fr) auto", alignItems: "start" }}>
          <Field label="E-mail" error={errors.fields.email}>
            {(p) => <input {...p} className="input" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />}
          </Field>
          <Field label="Initial password" error={errors.fields.password}>
            {(p) => <input {...p} className="input" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
          </Field>
          <Field label="Role" error={errors.fields.role}>
            {(p) => (
              <select {...p} className="select" value={role} onChange={(e) => setNewRole(e.target.value as Role)}>
                <option value="MEMBER">Member</option>
                <option value="VIEWER">Viewer</option>
                <option value="ADMIN">Admin</option>
              </select>
            )}
          </Field>
          <div className="field">
            <span className="field-label" aria-hidden="true">
              &nbsp;
            </span>
            <button type="submit" className="btn btn-primary" disabled={busy || !email.trim()}>
              {busy ? <Spinner /> : <UsersIcon />} Create user
            </button>
          </div>
        </div>
        <p className="hint muted small" style={{ marginTop: 8 }}>
          {ROLE_HELP[role].replace(/^./, (c) => c.toUpperCase())}.
        </p>
      </form>
      {result.error && !result.data ? (
        <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />
      ) : (
        <div className="table-wrap">
          <table className="table stacked" aria-label="Users">
            <thead>
              <tr>
                <th>Account</th>
                <th>Role</th>
                <th>Enabled</th>
                <th>Last sign-in</th>
              </tr>
            </thead>
            <tbody>
              {!result.data ? (
                <SkeletonRows columns={4} rows={3} />
              ) : (
                users.map((u) => (
                  <tr key={u.id} data-user-email={u.email}>
                    <td className="wide">
                      <strong>{u.email}</strong>
                      {u.id === me.id ? <span className="badge accent" style={{ marginLeft: 8 }}>you</span> : null}
                      <div className="sub">joined {formatLocal(u.createdAt, { year: true })}</div>
                    </td>
                    <td data-label="Role">
                      <select
                        className="select select-sm"
                        style={{ width: "auto" }}
                        aria-label={`Role of ${u.email}`}
                        value={u.role}
                        title={ROLE_HELP[u.role]}
                        onChange={(e) => void changeRole(u.id, e.target.value as Role)}
                      >
                        <option value="ADMIN">Admin</option>
                        <option value="MEMBER">Member</option>
                        <option value="VIEWER">Viewer</option>
                      </select>
                    </td>
                    <td data-label="Enabled">
                      <Switch
                        checked={!u.disabled}
                        disabled={u.id === me.id}
                        onChange={(enabled) => void changeDisabled(u.id, !enabled)}
                        label={<span className={u.disabled ? "muted" : ""}>{u.disabled ? "Disabled" : "Enabled"}</span>}
                        title={u.id === me.id ? "You cannot disable yourself" : undefined}
                      />
                    </td>
                    <td className="wide" data-label="Last sign-in">{u.lastLoginAt ? <RelativeTime iso={u.lastLoginAt} /> : <span className="muted">never</span>}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

const AUDIT_PAGE = 50;

function AuditPanel() {
  const [before, setBefore] = useState<string[]>([]);
  const cursor = before[before.length - 1] ?? null;
  const [result, reexecute] = useQuery({ query: AuditLogQuery, variables: { first: AUDIT_PAGE, before: cursor } });
  const entries = result.data?.auditLog ?? [];
  return (
    <div className="card">
      <div className="card-header">
        <h2>Audit log</h2>
        <span className="hint">Newest first</span>
      </div>
      {result.error && !result.data ? (
        <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />
      ) : result.data && entries.length === 0 ? (
        <EmptyState title="Nothing recorded yet">Sign-ins, job changes and account changes appear here.</EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table stacked" aria-label="Audit log">
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>Action</th>
                <th>Target</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {!result.data ? (
                <SkeletonRows columns={5} rows={6} />
              ) : (
                entries.map((e) => (
                  <tr key={e.id}>
                    <td className="nowrap" data-label="When">
                      <div><RelativeTime iso={e.createdAt} /></div>
                      <div className="sub">{formatLocal(e.createdAt, { seconds: true })}</div>
                    </td>
                    <td className="who" data-label="Who">
                      {e.actorEmail ?? <span className="muted">system</span>}
                      {e.ip ? <div className="sub mono">{e.ip}</div> : null}
                    </td>
                    <td data-label="Action">
                      <span className="tag">{e.action}</span>
                    </td>
                    <td className="mono small" data-label="Target">
                      {e.targetType}
                      {e.targetId ? ` #${e.targetId}` : ""}
                    </td>
                    {e.detail && e.detail !== "{}" ? (
                      <td className="audit-detail wide mono small" data-label="Detail">
                        {e.detail}
                      </td>
                    ) : (
                      <td className="hide-sm" />
                    )}
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={before.length + 1} hasNewer={before.length > 0} hasOlder={entries.length === AUDIT_PAGE} onNewer={() => setBefore((b) => b.slice(0, -1))} onOlder={() => { const last = entries[entries.length - 1]; if (last) setBefore((b) => [...b, last.id]); }} />
    </div>
  );
}
