// API tokens: create one (its secret is shown once), list them, revoke them.
import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";
import { errorReport, errorText, type ErrorReport } from "../api/errors";
import { ApiTokensQuery, CreateApiTokenMutation, RevokeApiTokenMutation } from "../api/operations";
import type { TokenScope } from "../gql/graphql";
import { formatLocal } from "../lib/format";
import { RelativeTime } from "./RelativeTime";
import { KeyIcon } from "./icons";
import { SecretOnce } from "./SecretOnce";
import { ConfirmDialog, EmptyState, ErrorList, ErrorState, Field, SkeletonRows, Spinner, useToast } from "./ui";

const EMPTY: ErrorReport = { fields: {}, general: [], code: null };

export function TokensPanel({ allUsers, userEmails }: { allUsers: boolean; userEmails?: Map<string, string> }) {
  const toast = useToast();
  const [result, reexecute] = useQuery({ query: ApiTokensQuery, variables: { allUsers } });
  const [, createToken] = useMutation(CreateApiTokenMutation);
  const [revoking, revokeToken] = useMutation(RevokeApiTokenMutation);
  const [name, setName] = useState("");
  const [scope, setScope] = useState<TokenScope>("READ");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<ErrorReport>(EMPTY);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [confirm, setConfirm] = useState<{ id: string; name: string } | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setErrors(EMPTY);
    const res = await createToken({ name: name.trim(), scope });
    setBusy(false);
    if (res.error) {
      setErrors(errorReport(res.error, ""));
      return;
    }
    if (res.data) {
      setCreated({ name: res.data.createApiToken.apiToken.name, token: res.data.createApiToken.token });
      setName("");
      reexecute({ requestPolicy: "network-only" });
    }
  };

  const revoke = async () => {
    if (!confirm) return;
    const res = await revokeToken({ id: confirm.id });
    setConfirm(null);
    if (res.error) toast(errorText(res.error), "error");
    else {
      toast("Token revoked");
      reexecute({ requestPolicy: "network-only" });
    }
  };

  const tokens = result.data?.apiTokens ?? [];
  return (
    <div className="card">
      <div className="card-header">
        <h2>API tokens</h2>
        <span className="hint">Send as <code>Authorization: Bearer &lt;token&gt;</code> to /graphql or /api.</span>
      </div>
      <form className="card-body" onSubmit={submit} noValidate aria-label="Create an API token">
        <ErrorList messages={errors.general} />
        <div className="field-row" style={{ gridTemplateColumns: "minmax(0,2fr) minmax(0,1fr) auto", alignItems: "end" }}>
          <Field label="Name" error={errors.fields.name}>
            {(p) => <input {...p} className="input" placeholder="e.g. deploy-bot" value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <Field label="Scope" error={errors.fields.scope}>
            {(p) => (
              <select {...p} className="select" value={scope} onChange={(e) => setScope(e.target.value as TokenScope)}>
                <option value="READ">Read only</option>
                <option value="WRITE">Read and write</option>
              </select>
            )}
          </Field>
          <div className="field">
            <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
              {busy ? <Spinner /> : <KeyIcon />} Create token
            </button>
          </div>
        </div>
        {created ? (
          <SecretOnce
            title={`Token "${created.name}" created: copy it now, it will not be shown again`}
            secret={created.token}
            testId="new-token"
            onDone={() => setCreated(null)}
          />
        ) : null}
      </form>
      {result.error && !result.data ? (
        <ErrorState error={result.error} retry={() => reexecute({ requestPolicy: "network-only" })} />
      ) : result.data && tokens.length === 0 ? (
        <EmptyState icon={<KeyIcon size={20} />} title="No API tokens">
          Tokens let scripts and CI call the API without a password. Read-only tokens cannot change anything.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table stacked" aria-label="API tokens">
            <thead>
              <tr>
                <th>Name</th>
                {allUsers ? <th>User</th> : null}
                <th>Scope</th>
                <th>Created</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {!result.data ? (
                <SkeletonRows columns={allUsers ? 6 : 5} rows={2} />
              ) : (
                tokens.map((t) => (
                  <tr key={t.id}>
                    <td className="wide">
                      <strong>{t.name}</strong>
                      <div className="sub mono">{t.prefix}…</div>
                    </td>
                    {allUsers ? (
                      <td className="wide" data-label="User">
                        {userEmails?.get(t.userId) ?? `user ${t.userId}`}
                      </td>
                    ) : null}
                    <td data-label="Scope">
                      <span className={`badge ${t.scope === "WRITE" ? "warn" : ""}`}>{t.scope === "WRITE" ? "read + write" : "read"}</span>
                    </td>
                    <td className="nowrap" data-label="Created">{formatLocal(t.createdAt, { year: true })}</td>
                    <td className="nowrap" data-label="Last used">{t.lastUsedAt ? <RelativeTime iso={t.lastUsedAt} /> : <span className="muted">never</span>}</td>
                    <td className="num">
                      {t.revokedAt ? (
                        <span className="badge">Revoked</span>
                      ) : (
                        <button type="button" className="btn btn-sm btn-danger" onClick={() => setConfirm({ id: t.id, name: t.name })}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
        </div>
      )}
      {confirm ? (
        <ConfirmDialog
          title={`Revoke "${confirm.name}"?`}
          confirmLabel="Revoke token"
          danger
          busy={revoking.fetching}
          onConfirm={revoke}
          onCancel={() => setConfirm(null)}
        >
          <p>Anything using this token gets "unauthenticated" from now on. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
