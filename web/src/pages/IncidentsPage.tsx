// Incidents of every job and monitor you may read: the open ones first, then (with "All")
// the resolved ones, a page at a time. Kept live by the change feed's incident events.
import { useCallback, useState } from "react";
import { useQuery, useSubscription } from "urql";
import { IncidentsQuery, JobEventsSubscription } from "../api/operations";
import { IncidentTable } from "../components/IncidentTable";
import { EmptyState, ErrorState, Segmented } from "../components/ui";
import type { IncidentSubject } from "../gql/graphql";
import { useDocumentTitle, useFirst, useThrottled } from "../lib/hooks";
import { Link } from "../router";
import { Pager } from "../components/Pager";

const OPEN_PAGE = 200;
const RESOLVED_PAGE = 25;

type Show = "open" | "all";
type SubjectChoice = IncidentSubject | "";

export function IncidentsPage() {
  useDocumentTitle("Incidents");
  const [show, setShow] = useState<Show>("open");
  const [subject, setSubject] = useState<SubjectChoice>("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const subjectVar = subject || null;

  const [open, refetchOpen] = useQuery({
    query: IncidentsQuery,
    variables: { status: "OPEN", subject: subjectVar, first: OPEN_PAGE },
  });
  const [resolved, refetchResolved] = useQuery({
    query: IncidentsQuery,
    variables: { status: "RESOLVED", subject: subjectVar, first: RESOLVED_PAGE, after },
    pause: show !== "all",
  });
  const refetch = useThrottled(
    useCallback(() => {
      refetchOpen({ requestPolicy: "network-only" });
      refetchResolved({ requestPolicy: "network-only" });
    }, [refetchOpen, refetchResolved]),
    600,
  );
  const position = useFirst(open.data?.feedPosition);
  useSubscription(
    { query: JobEventsSubscription, variables: { afterEventId: position }, pause: position === undefined },
    (_, event) => {
      if (event.jobEvents.kind.startsWith("incident.")) refetch();
      return event;
    },
  );

  const openItems = open.data?.incidents.edges.map((e) => e.node) ?? [];
  const resolvedItems = resolved.data?.incidents.edges.map((e) => e.node) ?? [];
  const resolvedPage = resolved.data?.incidents.pageInfo;
  const what = subject === "JOB" ? "jobs" : subject === "MONITOR" ? "monitors" : "jobs and monitors";

  return (
    <>
      <div className="page-header">
        <div>
          <h1>Incidents</h1>
          <p className="subtitle">
            A failing streak of one of your {what}: it opens when the rules say so and is resolved by the next success.
            Who gets told is set in <Link to="/notifications">Notifications</Link>.
          </p>
        </div>
        <div className="actions row" style={{ flexWrap: "wrap" }}>
          <select
            className="select select-sm"
            style={{ width: "auto" }}
            aria-label="Filter by subject"
            value={subject}
            onChange={(e) => {
              setSubject(e.target.value as SubjectChoice);
              setCursors([null]);
            }}
          >
            <option value="">Jobs and monitors</option>
            <option value="JOB">Jobs</option>
            <option value="MONITOR">Monitors</option>
          </select>
          <Segmented<Show>
            label="Which incidents"
            value={show}
            onChange={(value) => {
              setShow(value);
              setCursors([null]);
            }}
            options={[
              { value: "open", label: "Open" },
              { value: "all", label: "All" },
            ]}
          />
        </div>
      </div>

      <div className="stack">
        <section className="card" aria-label="Open incidents">
          <div className="card-header">
            <h2>Open{open.data ? ` (${openItems.length}${open.data.incidents.pageInfo.hasNextPage ? "+" : ""})` : ""}</h2>
          </div>
          {open.error && !open.data ? (
            <ErrorState error={open.error} retry={() => refetchOpen({ requestPolicy: "network-only" })} />
          ) : open.data && openItems.length === 0 ? (
            <EmptyState title="Nothing is failing">
              {show === "open" ? "Switch to All to see past incidents." : "Resolved incidents are listed below."}
            </EmptyState>
          ) : (
            <IncidentTable incidents={openItems} loading={!open.data} label="Open incidents" />
          )}
        </section>

        {show === "all" ? (
          <section className="card" aria-label="Resolved incidents">
            <div className="card-header">
              <h2>Resolved</h2>
            </div>
            {resolved.error && !resolved.data ? (
              <ErrorState error={resolved.error} retry={() => refetchResolved({ requestPolicy: "network-only" })} />
            ) : resolved.data && resolvedItems.length === 0 ? (
              <EmptyState title="No resolved incidents">Incidents move here when the next run or ping succeeds.</EmptyState>
            ) : (
              <IncidentTable incidents={resolvedItems} loading={!resolved.data} label="Resolved incidents" />
            )}
            <Pager page={cursors.length} hasNewer={cursors.length > 1} hasOlder={!!resolvedPage?.hasNextPage} onNewer={() => setCursors((c) => c.slice(0, -1))} onOlder={() => setCursors((c) => [...c, resolvedPage?.endCursor ?? null])} />
          </section>
        ) : null}
      </div>
    </>
  );
}
