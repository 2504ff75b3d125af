// Editors for a script job's arguments (one per row) and environment variables.
import { rowKey } from "../lib/headers";
import type { ArgRow, EnvRow } from "../lib/jobForm";
import { PlusIcon, XIcon } from "./icons";
import { FieldError } from "./ui";

export function ArgsEditor({
  rows,
  onChange,
  errors,
}: {
  rows: ArgRow[];
  onChange: (rows: ArgRow[]) => void;
  errors: Record<string, string>;
}) {
  return (
    <div className="kv-list" role="group" aria-label="Arguments">
      {rows.map((row, index) => (
        <div className="kv-row one" key={row.key}>
          <input
            className="input input-sm mono"
            aria-label={`Argument ${index + 1}`}
            placeholder={`Argument ${index + 1}`}
            aria-invalid={Boolean(errors[`script.args[${index}]`])}
            value={row.value}
            onChange={(e) => onChange(rows.map((r, i) => (i === index ? { ...r, value: e.target.value } : r)))}
          />
          <button
            type="button"
            className="btn btn-sm btn-ghost btn-icon"
            aria-label={`Remove argument ${index + 1}`}
            onClick={() => onChange(rows.filter((_, i) => i !== index))}
          >
            <XIcon />
          </button>
          <FieldError message={errors[`script.args[${index}]`]} />
        </div>
      ))}
      <div>
        <button type="button" className="btn btn-sm" onClick={() => onChange([...rows, { key: rowKey("a"), value: "" }])}>
          <PlusIcon /> Add argument
        </button>
      </div>
      <FieldError message={errors["script.args"]} />
    </div>
  );
}

export function EnvEditor({
  rows,
  onChange,
  errors,
}: {
  rows: EnvRow[];
  onChange: (rows: EnvRow[]) => void;
  errors: Record<string, string>;
}) {
  const update = (index: number, patch: Partial<EnvRow>) =>
    onChange(rows.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  return (
    <div className="kv-list" role="group" aria-label="Environment variables">
      {rows.map((row, index) => {
        const error = errors[`script.env.${row.name.trim()}`];
        return (
          <div className="kv-row two" key={row.key}>
            <input
              className="input input-sm mono"
              aria-label={`Variable ${index + 1} name`}
              placeholder="NAME"
              aria-invalid={Boolean(error)}
              value={row.name}
              onChange={(e) => update(index, { name: e.target.value })}
            />
            <input
              className="input input-sm mono"
              aria-label={`Variable ${index + 1} value`}
              placeholder="value"
              value={row.value}
              onChange={(e) => update(index, { value: e.target.value })}
            />
            <button
              type="button"
              className="btn btn-sm btn-ghost btn-icon"
              aria-label={`Remove variable ${index + 1}`}
              onClick={() => onChange(rows.filter((_, i) => i !== index))}
            >
              <XIcon />
            </button>
            <FieldError message={error} />
          </div>
        );
      })}
      <div>
        <button
          type="button"
          className="btn btn-sm"
          onClick={() => onChange([...rows, { key: rowKey("e"), name: "", value: "" }])}
        >
          <PlusIcon /> Add variable
        </button>
      </div>
      <FieldError message={errors["script.env"]} />
    </div>
  );
}
