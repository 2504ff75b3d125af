// Sign in, sign up, forgot password and reset password (the e-mailed link is /reset?token=…).
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { errorReport, type ErrorReport } from "../api/errors";
import {
  LoginMutation,
  RegisterMutation,
  RequestResetMutation,
  ResetPasswordMutation,
  SignupOpenQuery,
} from "../api/operations";
import { postGraphQL } from "../api/transport";
import { useSession } from "../auth/SessionProvider";
import { Brand, ThemeToggle } from "../components/Layout";
import { Banner, ErrorList, Field, Spinner } from "../components/ui";
import { useDocumentTitle } from "../lib/hooks";
import { Link, useRouter } from "../router";

const SIGNUP_CLOSED_KEY = "dts.signupClosed";
const MIN_PASSWORD = 8;

export function signupKnownClosed(): boolean {
  return window.localStorage.getItem(SIGNUP_CLOSED_KEY) === "1";
}

function rememberSignup(closed: boolean): void {
  if (closed) window.localStorage.setItem(SIGNUP_CLOSED_KEY, "1");
  else window.localStorage.removeItem(SIGNUP_CLOSED_KEY);
}

const EMPTY: ErrorReport = { fields: {}, general: [], code: null };

/** Whether the server takes sign-ups (`signupOpen`, from DTS_ALLOW_SIGNUP). */
function useSignupOpen(): boolean {
  const [open, setOpen] = useState(() => !signupKnownClosed());
  useEffect(() => {
    let live = true;
    postGraphQL(SignupOpenQuery, {})
      .then((data) => {
        if (!live) return;
        rememberSignup(!data.signupOpen);
        setOpen(data.signupOpen);
      })
      .catch(() => undefined); // unknown: keep showing what we last knew
    return () => {
      live = false;
    };
  }, []);
  return open;
}

function AuthShell({ title, lead, children, footer }: { title: string; lead?: ReactNode; children: ReactNode; footer?: ReactNode }) {
  useDocumentTitle(title);
  return (
    <div className="auth">
      <div className="row" style={{ gap: 12 }}>
        <Brand />
      </div>
      <div className="card auth-card">
        <h1>{title}</h1>
        {lead ? <p className="lead">{lead}</p> : null}
        {children}
      </div>
      <div className="row auth-footer">
        {footer}
        <ThemeToggle />
      </div>
    </div>
  );
}

function afterSignIn(search: URLSearchParams): string {
  const next = search.get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/jobs";
}

export function SignInPage() {
  const { signIn, endedReason } = useSession();
  const { location, navigate } = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);
  const reset = location.search.get("reset") === "1";
  const signupOpen = useSignupOpen();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(EMPTY);
    try {
      const data = await postGraphQL(LoginMutation, { email: email.trim(), password });
      signIn(data.login);
      navigate(afterSignIn(location.search), { replace: true });
    } catch (error) {
      setErrors(errorReport(error, ""));
      setBusy(false);
    }
  };

  return (
    <AuthShell
      title="Sign in"
      lead="Welcome back. Sign in to see your jobs and their runs."
      footer={
        !signupOpen ? null : (
          <span>
            New here? <Link to="/signup">Create an account</Link>
          </span>
        )
      }
    >
      {endedReason ? <Banner tone="warn" title="You were signed out">{endedReason}</Banner> : null}
      {reset ? <Banner tone="ok" title="Password changed">Sign in with your new password.</Banner> : null}
      <form onSubmit={submit} noValidate>
        <ErrorList messages={errors.general} />
        <Field label="E-mail" error={errors.fields.email}>
          {(p) => (
            <input {...p} className="input" type="email" autoComplete="username" autoFocus required value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label="Password" error={errors.fields.password}>
          {(p) => (
            <input {...p} className="input" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? <Spinner /> : null}
          Sign in
        </button>
      </form>
      <div className="auth-links">
        <Link to="/forgot">Forgot your password?</Link>
      </div>
    </AuthShell>
  );
}

export function SignUpPage() {
  const { signIn } = useSession();
  const { navigate } = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const signupOpen = useSignupOpen();
  const [refused, setRefused] = useState(false);
  const closed = refused || !signupOpen;
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password.length < MIN_PASSWORD) {
      setErrors({ ...EMPTY, fields: { password: `use at least ${MIN_PASSWORD} characters` } });
      return;
    }
    setBusy(true);
    setErrors(EMPTY);
    try {
      const data = await postGraphQL(RegisterMutation, { email: email.trim(), password });
      signIn(data.register);
      navigate("/jobs", { replace: true });
    } catch (error) {
      const report = errorReport(error, "");
      if (report.code === "forbidden") {
        rememberSignup(true);
        setRefused(true);
      }
      setErrors(report);
      setBusy(false);
    }
  };

  if (closed) {
    return (
      <AuthShell title="Sign-up is closed" footer={<Link to="/login">Back to sign in</Link>}>
        <p className="muted">
          This dts server does not take new sign-ups. Ask an administrator to create an account for you, then sign in.
        </p>
      </AuthShell>
    );
  }

  return (
    <AuthShell
      title="Create your account"
      lead="Schedule HTTP calls and scripts, in any timezone, and watch them run live."
      footer={
        <span>
          Have an account? <Link to="/login">Sign in</Link>
        </span>
      }
    >
      <form onSubmit={submit} noValidate>
        <ErrorList messages={errors.general} />
        <Field label="E-mail" error={errors.fields.email}>
          {(p) => (
            <input {...p} className="input" type="email" autoComplete="email" autoFocus required value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label="Password" error={errors.fields.password} hint={`At least ${MIN_PASSWORD} characters.`}>
          {(p) => (
            <input {...p} className="input" type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? <Spinner /> : null}
          Create account
        </button>
      </form>
    </AuthShell>
  );
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState(false);
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(EMPTY);
    try {
      await postGraphQL(RequestResetMutation, { email: email.trim() });
      setSent(true);
    } catch (error) {
      setErrors(errorReport(error, ""));
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthShell
      title={sent ? "Check your inbox" : "Reset your password"}
      lead={sent ? undefined : "We'll e-mail you a link to choose a new password."}
      footer={<Link to="/login">Back to sign in</Link>}
    >
      {sent ? (
        // Said once: the title says where to look, this says what arrives (the lead is gone).
        <Banner tone="ok">
          If an account exists for {email.trim()}, it will get an e-mail with a link to choose a new password. The
          link works once, for 30 minutes.
        </Banner>
      ) : (
        <form onSubmit={submit} noValidate>
          <ErrorList messages={errors.general} />
          <Field label="E-mail" error={errors.fields.email}>
            {(p) => (
              <input {...p} className="input" type="email" autoComplete="email" autoFocus required value={email} onChange={(e) => setEmail(e.target.value)} />
            )}
          </Field>
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? <Spinner /> : null}
            Send reset link
          </button>
        </form>
      )}
    </AuthShell>
  );
}

/**
 * Why a reset link failed, with the way out as a link said once. The API's message ends in
 * its own advice ("this reset link has expired (links last 30 minutes); request a new
 * one"), which the link replaces: "This reset link has expired (…). Request a new link."
 */
export function LinkProblem({ message }: { message: string }) {
  const reason = message.replace(/[;.,]?\s*request a new one\.?$/i, "").replace(/\.$/, "");
  return (
    <>
      {reason.charAt(0).toUpperCase() + reason.slice(1)}. <Link to="/forgot">Request a new link</Link>.
    </>
  );
}

export function ResetPasswordPage() {
  const { location, navigate } = useRouter();
  const token = location.search.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password.length < MIN_PASSWORD) {
      setErrors({ ...EMPTY, fields: { password: `use at least ${MIN_PASSWORD} characters` } });
      return;
    }
    if (password !== confirm) {
      setErrors({ ...EMPTY, fields: { confirm: "the two passwords differ" } });
      return;
    }
    setBusy(true);
    setErrors(EMPTY);
    try {
      await postGraphQL(ResetPasswordMutation, { token, password });
      navigate("/login?reset=1", { replace: true });
    } catch (error) {
      setErrors(errorReport(error, ""));
      setBusy(false);
    }
  };

  if (!token) {
    return (
      <AuthShell title="Reset link incomplete" footer={<Link to="/forgot">Request a new link</Link>}>
        <p className="muted">This page needs the whole link from the e-mail, which carries a token: open that link again.</p>
      </AuthShell>
    );
  }

  const tokenError = errors.fields.token;
  return (
    <AuthShell title="Choose a new password" footer={<Link to="/login">Back to sign in</Link>}>
      <form onSubmit={submit} noValidate>
        <ErrorList messages={errors.general} />
        {tokenError ? (
          <Banner tone="error" title="This link cannot be used">
            <LinkProblem message={tokenError} />
          </Banner>
        ) : null}
        <Field label="New password" error={errors.fields.password} hint={`At least ${MIN_PASSWORD} characters.`}>
          {(p) => (
            <input {...p} className="input" type="password" autoComplete="new-password" autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
          )}
        </Field>
        <Field label="Repeat the new password" error={errors.fields.confirm}>
          {(p) => (
            <input {...p} className="input" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
          )}
        </Field>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? <Spinner /> : null}
          Set new password
        </button>
      </form>
    </AuthShell>
  );
}
