// The HTTP headers editor's rules: secret headers, the stored-secret mask, and name checks.
//
// The API never returns a secret header's value: it sends the mask "••••••" instead, and
// keeps the stored secret when the mask is sent back. A row that still carries the mask is
// "kept"; typing a value, renaming the header or making it non-secret drops the kept secret
// (the stored value belongs to that name and cannot be shown).

export const SECRET_MASK = "••••••";

/** Headers the server always stores as secret, whatever the toggle says. */
export const ALWAYS_SECRET = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "x-api-key",
  "api-key",
  "x-auth-token",
]);

/** Headers dts or the HTTP client sets; the server refuses them. */
export const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "proxy-connection",
  "idempotency-key",
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface HeaderRow {
  /** A stable React key. */
  key: string;
  name: string;
  value: string;
  secret: boolean;
  /** True while the value is the mask of a secret stored on the server. */
  kept: boolean;
}

let counter = 0;
export function rowKey(prefix = "row"): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function newHeader(): HeaderRow {
  return { key: rowKey("h"), name: "", value: "", secret: false, kept: false };
}

export function headersFromApi(headers: readonly { name: string; value: string; secret: boolean }[]): HeaderRow[] {
  return headers.map((h) => ({
    key: rowKey("h"),
    name: h.name,
    value: h.value,
    secret: h.secret,
    kept: h.secret && h.value === SECRET_MASK,
  }));
}

export function isAlwaysSecret(name: string): boolean {
  return ALWAYS_SECRET.has(name.trim().toLowerCase());
}

export function setHeaderName(row: HeaderRow, name: string): HeaderRow {
  const secret = row.secret || isAlwaysSecret(name);
  if (row.kept && name.trim().toLowerCase() !== row.name.trim().toLowerCase()) {
    return { ...row, name, secret, kept: false, value: "" };
  }
  return { ...row, name, secret };
}

export function setHeaderValue(row: HeaderRow, value: string): HeaderRow {
  return { ...row, value, kept: false };
}

export function setHeaderSecret(row: HeaderRow, secret: boolean): HeaderRow {
  if (!secret && isAlwaysSecret(row.name)) return row; // the server would make it secret anyway
  if (!secret && row.kept) return { ...row, secret: false, kept: false, value: "" };
  return { ...row, secret };
}

/** Client-side checks, keyed like the server's errors (`http.headers[0].name`). */
export function headerErrors(rows: readonly HeaderRow[]): Record<string, string> {
  const errors: Record<string, string> = {};
  const seen = new Map<string, number>();
  rows.forEach((row, index) => {
    const name = row.name.trim();
    const prefix = `http.headers[${index}]`;
    if (!name && !row.value) return; // an empty row is dropped, not an error
    if (!name) errors[`${prefix}.name`] = "a header name is required";
    else if (!TOKEN.test(name)) {
      errors[`${prefix}.name`] = `'${name}' is not a valid header name (letters, digits and !#$%&'*+-.^_\`|~ only)`;
    } else if (RESERVED.has(name.toLowerCase()) || name.toLowerCase().startsWith("x-dts-")) {
      errors[`${prefix}.name`] = `'${name}' is set by dts or by the HTTP client and cannot be overridden`;
    } else if (seen.has(name.toLowerCase())) {
      errors[`${prefix}.name`] = `'${name}' is already set above`;
    }
    if (name) seen.set(name.toLowerCase(), index);
    if (/[\r\n\0]/.test(row.value)) {
      errors[`${prefix}.value`] = "a header value cannot contain a line break";
    } else if (row.secret && !row.kept && !row.value && name) {
      errors[`${prefix}.value`] = "type the secret value";
    }
  });
  return errors;
}

/** What the API gets: empty rows dropped; a kept secret goes back as the mask. */
export function headersToInput(rows: readonly HeaderRow[]): { name: string; value: string; secret: boolean }[] {
  return rows
    .filter((row) => row.name.trim() || row.value)
    .map((row) => ({
      name: row.name.trim(),
      value: row.kept ? SECRET_MASK : row.value,
      secret: row.secret || isAlwaysSecret(row.name),
    }));
}

/** Indexes of the rows `headersToInput` sends, in order (to map server errors back). */
export function sentHeaderRows(rows: readonly HeaderRow[]): number[] {
  return rows.flatMap((row, index) => (row.name.trim() || row.value ? [index] : []));
}

/** Rewrite `prefix[i]…` keys from the i-th sent item to the i-th row on screen. */
export function remapIndexedErrors(
  fields: Record<string, string>,
  prefix: string,
  sent: readonly number[],
): Record<string, string> {
  const out: Record<string, string> = {};
  const pattern = new RegExp(`^${prefix.replace(/[.[\]]/g, "\\$&")}\\[(\\d+)\\]`);
  for (const [key, message] of Object.entries(fields)) {
    const match = pattern.exec(key);
    const row = match ? sent[Number(match[1])] : undefined;
    out[match && row !== undefined ? key.replace(pattern, `${prefix}[${row}]`) : key] = message;
  }
  return out;
}
