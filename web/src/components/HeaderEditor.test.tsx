import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { SECRET_MASK, headersFromApi, headersToInput, type HeaderRow } from "../lib/headers";
import { HeaderEditor } from "./HeaderEditor";

function Harness({ initial, errors = {}, onRows }: { initial: HeaderRow[]; errors?: Record<string, string>; onRows: (rows: HeaderRow[]) => void }) {
  const [rows, setRows] = useState(initial);
  return (
    <HeaderEditor
      rows={rows}
      errors={errors}
      onChange={(next) => {
        setRows(next);
        onRows(next);
      }}
    />
  );
}

describe("<HeaderEditor>", () => {
  it("adds a header and makes it secret with its switch", () => {
    let rows: HeaderRow[] = [];
    render(<Harness initial={[]} onRows={(r) => (rows = r)} />);
    fireEvent.click(screen.getByRole("button", { name: "Add header" }));
    fireEvent.change(screen.getByLabelText("Header 1 name"), { target: { value: "X-Signature" } });
    fireEvent.change(screen.getByLabelText("Header 1 value"), { target: { value: "sig" } });
    const secret = screen.getByLabelText("Header 1 is secret") as HTMLInputElement;
    expect(secret.checked).toBe(false);
    fireEvent.click(secret);
    expect(secret.checked).toBe(true);
    expect((screen.getByLabelText("Header 1 value") as HTMLInputElement).type).toBe("password");
    expect(headersToInput(rows)).toEqual([{ name: "X-Signature", value: "sig", secret: true }]);
  });

  it("shows a stored secret as kept, never its mask, and Replace asks for a new value", () => {
    let rows: HeaderRow[] = [];
    const initial = headersFromApi([{ name: "Authorization", value: SECRET_MASK, secret: true }]);
    render(<Harness initial={initial} onRows={(r) => (rows = r)} />);
    expect(screen.getByText("Stored secret (kept)")).toBeTruthy();
    expect(screen.queryByDisplayValue(SECRET_MASK)).toBeNull();
    const secret = screen.getByLabelText("Header 1 is secret") as HTMLInputElement;
    expect(secret.checked && secret.disabled).toBe(true); // Authorization is always secret
    fireEvent.click(screen.getByRole("button", { name: "Replace" }));
    fireEvent.change(screen.getByLabelText("Header 1 value"), { target: { value: "Bearer new" } });
    expect(headersToInput(rows)).toEqual([{ name: "Authorization", value: "Bearer new", secret: true }]);
  });

  it("shows the API's error next to the header it concerns", () => {
    const initial = headersFromApi([
      { name: "X-A", value: "1", secret: false },
      { name: "Host", value: "x", secret: false },
    ]);
    render(
      <Harness
        initial={initial}
        errors={{ "http.headers[1].name": "'Host' is set by dts or by the HTTP client and cannot be overridden" }}
        onRows={() => undefined}
      />,
    );
    const rows = screen.getAllByTestId("header-row");
    expect(rows[0]?.textContent).not.toMatch(/cannot be overridden/);
    expect(rows[1]?.textContent).toMatch(/'Host' is set by dts/);
    expect(screen.getByLabelText("Header 2 name").getAttribute("aria-invalid")).toBe("true");
  });
});
