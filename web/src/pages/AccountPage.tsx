// The signed-in user's own page: who they are, their password, sign out (API tokens have their own page).
import { useState, type FormEvent } from "react";
import { useMutation } from "urql";
import { errorReport, type ErrorReport } from "../api/errors";
import { ChangePasswordMutation } from "../api/operations";
import { useCurrentUser, useSession } from "../auth/SessionProvider";
import { ErrorList, Field, Spinner, useToast } from "../components/ui";
import { useDocumentTitle } from "../lib/hooks";
import { Link, useRouter } from "../router";

const EMPTY: ErrorReport = { fields: {}, general: [], code: null };

export function AccountPage() {
  useDocumentTitle("Account");
  const user = useCurrentUser();
  const { signIn, signOut } = useSession();
  const { navigate } = useRouter();
  const toast = useToast();
  const [, changePassword] = useMutation(ChangePasswordMutation);
  const [oldPassword, setOld] = useState("");
  const [newPassword, setNew] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(EMPTY);
    const res = await changePassword({ oldPassword, newPassword });
    setBusy(false);
    if (res.error) {
      setErrors(errorReport(res.error, ""));
      return;
    }
    if (res.data) signIn(res.data.changePassword);
    setOld("");
    setNew("");
    toast("Password changed; other sessions were signed out");
  };

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Account</h1>
          <p className="subtitle">
            Signed in as <strong>{user.email}</strong> · {user.role.toLowerCase()}
          </p>
        </div>
        <div className="actions">
          <button
            type="button"
            className="btn"
            onClick={() => {
              void signOut().then(() => navigate("/login", { replace: true }));
            }}
          >
            Sign out
          </button>
        </div>
      </div>
      <div className="stack">
        <p className="muted">
          API tokens for scripts and other services are on their own page: <Link to="/tokens">API tokens</Link>.
          Where alerts go (e-mail, webhooks, Slack) and your default rules: <Link to="/notifications">Notifications</Link>.
        </p>
        <div className="card">
          <div className="card-header">
            <h2>Change password</h2>
            <span className="hint">Signs out your other sessions.</span>
          </div>
          <form className="card-body" onSubmit={submit} noValidate aria-label="Change password">
            <ErrorList messages={errors.general} />
            <div className="field-row" style={{ gridTemplateColumns: "minmax(0,1fr) minmax(0,1fr) auto", alignItems: "start" }}>
              <Field label="Current password" error={errors.fields.oldPassword}>
                {(p) => <input {...p} className="input" type="password" autoComplete="current-password" value={oldPassword} onChange={(e) => setOld(e.target.value)} />}
              </Field>
              <Field label="New password" error={errors.fields.newPassword} hint="At least 8 characters.">
                {(p) => <input {...p} className="input" type="password" autoComplete="new-password" value={newPassword} onChange={(e) => setNew(e.target.value)} />}
              </Field>
              <div className="field">
                <span className="field-label" aria-hidden="true">
                  &nbsp;
                </span>
                <button type="submit" className="btn btn-primary" disabled={busy || !oldPassword || !newPassword}>
                  {busy ? <Spinner /> : null} Change password
                </button>
              </div>
            </div>
          </form>
        </div>
      </div>
    </>
  );
}
