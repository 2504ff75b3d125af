// The app's one SessionStore, refreshing through the `refreshToken` mutation.
import { RefreshMutation } from "../api/operations";
import { ApiError, postGraphQL } from "../api/transport";
import { SessionEnded, SessionStore } from "./session";

async function refreshCall(refreshToken: string) {
  try {
    const data = await postGraphQL(RefreshMutation, { refreshToken });
    return data.refreshToken;
  } catch (error) {
    if (error instanceof ApiError && error.code === "unauthenticated") {
      throw new SessionEnded(error.message);
    }
    throw error;
  }
}

export const session = new SessionStore(window.localStorage, refreshCall);

window.addEventListener("storage", (event) => {
  if (event.key === null || event.key === "dts.session") session.storageChanged();
});
