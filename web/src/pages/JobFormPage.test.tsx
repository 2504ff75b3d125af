import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { CombinedError, type Client, type Operation } from "@urql/core";
import { GraphQLError } from "graphql";
import { Provider } from "urql";
import { fromValue, never } from "wonka";
import { beforeEach, describe, expect, it } from "vitest";
import { SessionProvider } from "../auth/SessionProvider";
import { ToastProvider } from "../components/ui";
import { RouterProvider } from "../router";
import { NewJobPage } from "./JobFormPage";

/** The preview waits 300 ms for typing to stop; leave room on a busy machine. */
const SLOW = { timeout: 4000 };

function signedIn(role: "ADMIN" | "MEMBER") {
  window.localStorage.setItem(
    "dts.session",
    JSON.stringify({
      accessToken: "a",
      refreshToken: "r",
      expiresAt: Date.now() + 900_000,
      user: { id: "1", email: "me@example.com", role },
    }),
  );
}

const occurrence = {
  utc: "2027-03-28T01:00:00+00:00",
  local: "2027-03-28T03:00:00+02:00",
  timezone: "Europe/Berlin",
  abbreviation: "CEST",
  note: "02:30 does not exist on 2027-03-28 in Europe/Berlin; runs at 03:00 CEST",
  dstShifted: true,
  zones: [{ timezone: "UTC", local: "2027-03-28T01:00:00+00:00" }],
};

/** A client answering previewSchedule like the API: a cron error for minute 61. */
function fakeClient(sent: Operation[]): Client {
  return {
    executeQuery: (operation: Operation) => {
      sent.push(operation);
      const cron = String(operation.variables?.cron);
      if (cron.startsWith("61")) {
        return fromValue({
          operation,
          data: undefined,
          error: new CombinedError({
            graphQLErrors: [
              new GraphQLError("minute field: '61' is out of range 0-59", {
                extensions: { code: "validation_error", field: "schedule.cron" },
              }),
            ],
          }),
          stale: false,
          hasNext: false,
        });
      }
      return fromValue({
        operation,
        data: { previewSchedule: { description: "At 02:30 every day", timezone: "Europe/Berlin", occurrences: [occurrence] } },
        stale: false,
        hasNext: false,
      });
    },
    executeMutation: () => never,
    executeSubscription: () => never,
  } as unknown as Client;
}

function renderForm(sent: Operation[]) {
  return render(
    <RouterProvider>
      <SessionProvider>
        <Provider value={fakeClient(sent)}>
          <ToastProvider>
            <NewJobPage />
          </ToastProvider>
        </Provider>
      </SessionProvider>
    </RouterProvider>,
  );
}

describe("the job form's schedule", () => {
  beforeEach(() => {
    window.localStorage.clear();
    signedIn("MEMBER");
  });

  it("shows the API's cron error next to the cron field, then the description", async () => {
    const sent: Operation[] = [];
    renderForm(sent);
    const cron = screen.getByLabelText("Cron expression");
    fireEvent.change(cron, { target: { value: "61 * * * *" } });
    // The message and the field's invalid state arrive in the same answer, but may render
    // in separate commits: wait for both.
    const field = cron.closest(".field") as HTMLElement;
    await waitFor(() => {
      expect(cron.getAttribute("aria-invalid")).toBe("true");
      expect(within(field).getByRole("alert").textContent).toBe("minute field: '61' is out of range 0-59");
    }, SLOW);

    fireEvent.change(cron, { target: { value: "30 2 * * *" } });
    await waitFor(() => {
      expect(screen.getByTestId("schedule-description").textContent).toBe("At 02:30 every day");
      expect(cron.getAttribute("aria-invalid")).toBe("false");
    }, SLOW);
    expect(screen.getByTestId("dst-note").textContent).toMatch(/02:30 does not exist/);
    expect(screen.getByTestId("dst-count").textContent).toBe("1 moved by DST");
    // The preview asks for the viewer's zone too, and waits for typing to stop.
    const last = sent[sent.length - 1] as Operation;
    expect(last.variables).toMatchObject({ cron: "30 2 * * *", zones: [expect.any(String)] });
    expect(sent.some((op) => op.variables?.cron === "30 2 * *")).toBe(false);
  });

  it("lets only admins choose a script job", () => {
    renderForm([]);
    expect((screen.getByRole("button", { name: /Script/ }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByText(/only admins can create them/)).toBeTruthy();
  });

  it("checks the form before sending and shows each error at its field", async () => {
    renderForm([]);
    fireEvent.click(screen.getByRole("button", { name: "Create job" }));
    await waitFor(() => expect(screen.getByText("a name is required")).toBeTruthy(), SLOW);
    expect(screen.getByText(/a URL is required/)).toBeTruthy();
    expect(screen.getByLabelText("Name").getAttribute("aria-invalid")).toBe("true");
  });
});
