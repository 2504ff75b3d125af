// The signed-in user's API tokens: for scripts and other teams' clients (Bearer dts_…).
import { TokensPanel } from "../components/TokensPanel";
import { useDocumentTitle } from "../lib/hooks";
import { Link } from "../router";

export function TokensPage() {
  useDocumentTitle("API tokens");
  return (
    <>
      <div className="page-header">
        <div>
          <h1>API tokens</h1>
          <p className="subtitle">
            For scripts and other services. A token is shown once, when it is created; revoke one the moment it may have
            leaked. Your password and sign-out are on <Link to="/account">your account</Link>.
          </p>
        </div>
      </div>
      <TokensPanel allUsers={false} />
    </>
  );
}
