// Editing an HTTP job's headers: name, value, and a per-header "secret" switch. A secret
// stored on the server is shown as kept (never revealed) until the user replaces it.
import {
  isAlwaysSecret,
  newHeader,
  setHeaderName,
  setHeaderSecret,
  setHeaderValue,
  type HeaderRow,
} from "../lib/headers";
import { LockIcon, PlusIcon, XIcon } from "./icons";
import { FieldError, Switch } from "./ui";

interface Props {
  rows: HeaderRow[];
  onChange: (rows: HeaderRow[]) => void;
  errors: Record<string, string>;
}

export function HeaderEditor({ rows, onChange, errors }: Props) {
  const update = (index: number, row: HeaderRow) => onChange(rows.map((r, i) => (i === index ? row : r)));
  return (
    <div className="kv-list" role="group" aria-label="Request headers">
      {rows.length > 0 ? (
        <div className="kv-head" aria-hidden="true">
          <span>Name</span>
          <span>Value</span>
          <span>Secret</span>
          <span />
        </div>
      ) : null}
      {rows.map((row, index) => {
        const prefix = `http.headers[${index}]`;
        const nameError = errors[`${prefix}.name`] ?? errors[prefix];
        const valueError = errors[`${prefix}.value`] ?? errors[`${prefix}.secret`];
        const forced = isAlwaysSecret(row.name);
        return (
          <div className="kv-row" key={row.key} data-testid="header-row">
            <input
              className="input input-sm mono"
              placeholder="Header name"
              aria-label={`Header ${index + 1} name`}
              aria-invalid={Boolean(nameError)}
              value={row.name}
              onChange={(e) => update(index, setHeaderName(row, e.target.value))}
            />
            {row.kept ? (
              <div className="kept-secret" aria-label={`Header ${index + 1} value`}>
                <LockIcon size={14} /> Stored secret (kept)
                <button type="button" className="btn btn-sm btn-ghost" onClick={() => update(index, setHeaderValue(row, ""))}>
                  Replace
                </button>
              </div>
            ) : (
              <input
                className="input input-sm mono"
                placeholder={row.secret ? "Secret value (stored encrypted)" : "Value"}
                aria-label={`Header ${index + 1} value`}
                aria-invalid={Boolean(valueError)}
                type={row.secret ? "password" : "text"}
                autoComplete="off"
                value={row.value}
                onChange={(e) => update(index, setHeaderValue(row, e.target.value))}
              />
            )}
            <Switch
              checked={row.secret || forced}
              disabled={forced}
              onChange={(checked) => update(index, setHeaderSecret(row, checked))}
              label={<span className="visually-hidden">Header {index + 1} is secret</span>}
              title={
                forced
                  ? `${row.name} is always stored as a secret`
                  : "A secret value is stored encrypted, hidden in the dashboard and redacted from logs"
              }
            />
            <button
              type="button"
              className="btn btn-sm btn-ghost btn-icon"
              aria-label={`Remove header ${index + 1}`}
              onClick={() => onChange(rows.filter((_, i) => i !== index))}
            >
              <XIcon />
            </button>
            <FieldError message={nameError ?? valueError} />
            {nameError && valueError ? <FieldError message={valueError} /> : null}
          </div>
        );
      })}
      <div>
        <button type="button" className="btn btn-sm" onClick={() => onChange([...rows, newHeader()])}>
          <PlusIcon /> Add header
        </button>
      </div>
      <FieldError message={errors["http.headers"]} />
    </div>
  );
}
