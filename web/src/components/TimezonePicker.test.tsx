import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { TimezonePicker } from "./TimezonePicker";

function Harness({ initial = "UTC", onValue }: { initial?: string; onValue?: (zone: string) => void }) {
  const [value, setValue] = useState(initial);
  return (
    <form onSubmit={(e) => e.preventDefault()}>
      <label htmlFor="tz">Timezone</label>
      <TimezonePicker
        id="tz"
        value={value}
        viewer="Europe/Berlin"
        onChange={(zone) => {
          setValue(zone);
          onValue?.(zone);
        }}
      />
      <span data-testid="value">{value}</span>
    </form>
  );
}

const field = () => screen.getByRole("combobox", { name: "Timezone" }) as HTMLInputElement;
const value = () => screen.getByTestId("value").textContent;
const type = (text: string) => fireEvent.change(field(), { target: { value: text } });
const key = (name: string) => fireEvent.keyDown(field(), { key: name });

describe("<TimezonePicker>", () => {
  it("is a combobox whose list opens as you type and finds Asia/Kolkata from 'kol'", () => {
    render(<Harness />);
    expect(field().getAttribute("aria-expanded")).toBe("false");
    type("kol");
    expect(field().getAttribute("aria-expanded")).toBe("true");
    const list = screen.getByRole("listbox", { name: "Timezones" });
    expect(field().getAttribute("aria-controls")).toBe(list.id);
    const options = screen.getAllByRole("option");
    expect(options[0]?.textContent).toMatch(/^Asia\/Kolkata/);
    expect(field().getAttribute("aria-activedescendant")).toBe(options[0]?.id);
    key("Enter");
    expect(value()).toBe("Asia/Kolkata");
    expect(field().value).toBe("Asia/Kolkata");
    expect(screen.queryByRole("listbox")).toBeNull();
  });

  it("moves through the options with the arrow keys", () => {
    render(<Harness />);
    type("america/");
    const options = screen.getAllByRole("option");
    expect(options.length).toBeGreaterThan(0);
    key("ArrowDown");
    const second = screen.getAllByRole("option")[1];
    expect(second?.getAttribute("aria-selected")).toBe("true");
    expect(field().getAttribute("aria-activedescendant")).toBe(second?.id);
    key("ArrowUp");
    key("Enter");
    expect(value()).toBe(options[0]?.querySelector(".tz-name")?.textContent);
  });

  it("opens on ArrowDown with UTC and the viewer's zone first, on the current value", () => {
    render(<Harness initial="UTC" />);
    key("ArrowDown");
    const options = screen.getAllByRole("option");
    expect(options[0]?.textContent).toMatch(/^UTC/);
    expect(options[1]?.textContent).toMatch(/^Europe\/Berlin.*yours/);
    expect(options[0]?.getAttribute("aria-selected")).toBe("true");
  });

  it("picks with a click", () => {
    render(<Harness />);
    type("kyiv");
    fireEvent.click(screen.getByRole("option", { name: /^Europe\/Kyiv/ }));
    expect(value()).toBe("Europe/Kyiv");
  });

  it("takes a legacy name typed in full in its current spelling", () => {
    render(<Harness />);
    type("Asia/Calcutta");
    expect(screen.getAllByRole("option")[0]?.textContent).toMatch(/^Asia\/Kolkata.*also Asia\/Calcutta/);
    fireEvent.blur(field());
    expect(value()).toBe("Asia/Kolkata");
  });

  it("takes an unknown name as typed, for the server to judge", () => {
    render(<Harness />);
    type("Mars/Base");
    expect(screen.getByText(/No zone matches/)).toBeTruthy();
    key("Enter");
    expect(value()).toBe("Mars/Base");
  });

  it("Escape closes the list and puts the value back", () => {
    render(<Harness initial="Europe/Berlin" />);
    type("tok");
    key("Escape");
    expect(screen.queryByRole("listbox")).toBeNull();
    expect(field().value).toBe("Europe/Berlin");
    expect(value()).toBe("Europe/Berlin");
  });

  it("shows a stored legacy value as stored until the user picks another", () => {
    render(<Harness initial="Asia/Calcutta" />);
    expect(field().value).toBe("Asia/Calcutta");
    fireEvent.blur(field());
    expect(value()).toBe("Asia/Calcutta");
  });
});
