import { describe, expect, it } from "vitest";
import {
  SECRET_MASK,
  headerErrors,
  headersFromApi,
  headersToInput,
  newHeader,
  remapIndexedErrors,
  sentHeaderRows,
  setHeaderName,
  setHeaderSecret,
  setHeaderValue,
  type HeaderRow,
} from "./headers";

function row(patch: Partial<HeaderRow>): HeaderRow {
  return { ...newHeader(), ...patch };
}

describe("secret headers and the mask", () => {
  it("marks a stored secret as kept and sends the mask back unchanged", () => {
    const rows = headersFromApi([
      { name: "Authorization", value: SECRET_MASK, secret: true },
      { name: "X-Team", value: "ops", secret: false },
    ]);
    expect(rows.map((r) => r.kept)).toEqual([true, false]);
    expect(headersToInput(rows)).toEqual([
      { name: "Authorization", value: SECRET_MASK, secret: true },
      { name: "X-Team", value: "ops", secret: false },
    ]);
  });

  it("typing a new value replaces the kept secret", () => {
    const [kept] = headersFromApi([{ name: "X-Signature", value: SECRET_MASK, secret: true }]);
    const typed = setHeaderValue(kept as HeaderRow, "new-secret");
    expect(typed.kept).toBe(false);
    expect(headersToInput([typed])).toEqual([{ name: "X-Signature", value: "new-secret", secret: true }]);
  });

  it("renaming a kept secret drops it: the stored value belongs to the old name", () => {
    const [kept] = headersFromApi([{ name: "X-Signature", value: SECRET_MASK, secret: true }]);
    const renamed = setHeaderName(kept as HeaderRow, "X-Other");
    expect(renamed).toMatchObject({ name: "X-Other", value: "", kept: false, secret: true });
    expect(headerErrors([renamed])["http.headers[0].value"]).toBe("type the secret value");
    // Changing only the case keeps it (header names are case-insensitive).
    expect(setHeaderName(kept as HeaderRow, "x-signature").kept).toBe(true);
  });

  it("turning the secret switch off a kept secret clears it instead of sending the mask as text", () => {
    const [kept] = headersFromApi([{ name: "X-Signature", value: SECRET_MASK, secret: true }]);
    const plain = setHeaderSecret(kept as HeaderRow, false);
    expect(plain).toMatchObject({ secret: false, kept: false, value: "" });
    expect(headersToInput([plain])[0]?.value).not.toBe(SECRET_MASK);
  });

  it("the secret switch toggles a typed header", () => {
    const typed = row({ name: "X-Token", value: "abc" });
    expect(setHeaderSecret(typed, true)).toMatchObject({ secret: true, value: "abc" });
    expect(setHeaderSecret(setHeaderSecret(typed, true), false)).toMatchObject({ secret: false, value: "abc" });
  });

  it("Authorization, Cookie and API-key headers are always secret", () => {
    const auth = setHeaderName(newHeader(), "Authorization");
    expect(auth.secret).toBe(true);
    expect(setHeaderSecret(auth, false).secret).toBe(true);
    expect(headersToInput([row({ name: "x-api-key", value: "k", secret: false })])[0]?.secret).toBe(true);
  });
});

describe("header checks", () => {
  it("names a bad name, a reserved name and a duplicate by row", () => {
    const errors = headerErrors([
      row({ name: "Bad Name", value: "x" }),
      row({ name: "Host", value: "x" }),
      row({ name: "X-DTS-Attempt", value: "1" }),
      row({ name: "X-Team", value: "a" }),
      row({ name: "x-team", value: "b" }),
      row({ name: "", value: "orphan" }),
      row({ name: "X-Line", value: "a\nb" }),
    ]);
    expect(errors["http.headers[0].name"]).toMatch(/not a valid header name/);
    expect(errors["http.headers[1].name"]).toMatch(/set by dts or by the HTTP client/);
    expect(errors["http.headers[2].name"]).toMatch(/set by dts/);
    expect(errors["http.headers[3].name"]).toBeUndefined();
    expect(errors["http.headers[4].name"]).toMatch(/already set/);
    expect(errors["http.headers[5].name"]).toBe("a header name is required");
    expect(errors["http.headers[6].value"]).toMatch(/line break/);
  });

  it("drops empty rows, and maps the server's indexes back to the rows on screen", () => {
    const rows = [row({}), row({ name: "X-A", value: "1" }), row({}), row({ name: "X-B", value: "2" })];
    expect(headersToInput(rows).map((h) => h.name)).toEqual(["X-A", "X-B"]);
    const sent = sentHeaderRows(rows);
    expect(sent).toEqual([1, 3]);
    expect(
      remapIndexedErrors(
        { "http.headers[1].name": "bad", "http.url": "no", "http.headers": "too many" },
        "http.headers",
        sent,
      ),
    ).toEqual({ "http.headers[3].name": "bad", "http.url": "no", "http.headers": "too many" });
  });
});
