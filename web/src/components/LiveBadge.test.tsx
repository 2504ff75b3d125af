import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ConnectionState } from "../api/connection";
import { ConnectionBadge } from "./LiveBadge";

const NOW = new Date(2026, 11, 3, 14, 7, 0).getTime();

function state(partial: Partial<ConnectionState>): ConnectionState {
  return { status: "live", lostAt: null, attempts: 0, retryAt: null, ...partial };
}

describe("ConnectionBadge", () => {
  it("says Live when connected", () => {
    render(<ConnectionBadge state={state({})} now={NOW} />);
    expect(screen.getByTestId("connection-state").textContent).toBe("Live");
    expect(screen.getByRole("status").getAttribute("data-state")).toBe("live");
    expect(screen.queryByRole("button", { name: "Retry now" })).toBeNull();
  });

  it("says Reconnecting… right after the connection drops", () => {
    render(<ConnectionBadge state={state({ status: "reconnecting", lostAt: NOW - 3000, retryAt: NOW + 2000 })} now={NOW} />);
    expect(screen.getByTestId("connection-state").textContent).toBe("Reconnecting…");
    expect(screen.getByRole("status").getAttribute("title")).toContain("Lost the live connection at 14:06");
  });

  it("says Offline since HH:MM once it has been gone a while, with Retry now", async () => {
    const retry = vi.fn();
    render(
      <ConnectionBadge state={state({ status: "offline", lostAt: NOW - 60_000, retryAt: NOW + 8000 })} now={NOW} onRetry={retry} />,
    );
    expect(screen.getByTestId("connection-state").textContent).toBe("Offline since 14:06");
    expect(screen.getByRole("status").getAttribute("title")).toContain("Next attempt in 8 s");
    await userEvent.click(screen.getByRole("button", { name: "Retry now" }));
    expect(retry).toHaveBeenCalledOnce();
  });
});
