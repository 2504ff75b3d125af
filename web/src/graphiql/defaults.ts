// What a new playground tab starts with, and the dashboard's theme choice.

export const DEFAULT_QUERY = `# The dts GraphQL playground. Queries and mutations go to /graphql with your
# dashboard session; subscriptions use the same websocket as the dashboard.
# Ctrl+Enter runs the operation under the cursor; the Docs button lists every field.

query Me {
  me { email role }
}

query Jobs {
  jobs(first: 10) {
    edges { node { id name paused nextRunAt schedule { description } } }
  }
}

# Watch runs as they change state (trigger a job from the dashboard to see events).
subscription RunEvents {
  runEvents { eventId kind jobId runId status at }
}
`;

/** The theme the dashboard's toggle chose (`localStorage["dts.theme"]`); null: the system's. */
export function savedTheme(storage: Pick<Storage, "getItem"> = window.localStorage): "light" | "dark" | null {
  try {
    const theme = storage.getItem("dts.theme");
    return theme === "light" || theme === "dark" ? theme : null;
  } catch {
    return null;
  }
}
