// Incidents as a table (the Incidents page, and a job's history on its page): the subject,
// the problem, how many times, and when it opened, last failed and was resolved.
import type { IncidentFieldsFragment } from "../gql/graphql";
import { incidentKindLabel, subjectPath } from "../lib/alerts";
import { Link } from "../router";
import { RelativeTime } from "./RelativeTime";
import { SkeletonRows } from "./ui";

export function IncidentStatusBadge({ status }: { status: string }) {
  const open = status === "open";
  return (
    <span className={`badge ${open ? "bad" : "ok"}`} data-status={status}>
      <span className="dot" />
      {open ? "Open" : "Resolved"}
    </span>
  );
}

export function IncidentTable({
  incidents,
  loading,
  showSubject = true,
  label = "Incidents",
}: {
  incidents: IncidentFieldsFragment[];
  loading?: boolean;
  showSubject?: boolean;
  label?: string;
}) {
  const columns = showSubject ? 7 : 6;
  return (
    <div className="table-wrap">
      <table className="table stacked" aria-label={label}>
        <thead>
          <tr>
            <th>Status</th>
            {showSubject ? <th>Subject</th> : null}
            <th>Problem</th>
            <th className="num">Failures</th>
            <th>Opened</th>
            <th>Last failure</th>
            <th>Resolved</th>
          </tr>
        </thead>
        <tbody>
          {loading && incidents.length === 0 ? (
            <SkeletonRows columns={columns} rows={3} />
          ) : (
            incidents.map((i) => (
              <tr key={i.id} data-incident={i.id}>
                <td>
                  <IncidentStatusBadge status={i.status} />
                </td>
                {showSubject ? (
                  <td className="wide" data-label="Subject">
                    <Link to={subjectPath(i.subject, i.subjectId)}>{i.name || `${i.subject} ${i.subjectId}`}</Link>
                    <div className="sub">{i.subject}</div>
                  </td>
                ) : null}
                <td data-label="Problem">
                  <div>{incidentKindLabel(i.kind)}</div>
                  {i.summary ? (
                    <div className="sub" title={i.summary} style={{ overflowWrap: "anywhere" }}>
                      {i.summary.length > 80 ? `${i.summary.slice(0, 80)}…` : i.summary}
                    </div>
                  ) : null}
                </td>
                <td className="num" data-label="Failures">
                  {i.failures}
                </td>
                <td className="nowrap" data-label="Opened">
                  <RelativeTime iso={i.openedAt} />
                </td>
                <td className="nowrap" data-label="Last failure">
                  <RelativeTime iso={i.lastFailureAt} />
                </td>
                <td className="nowrap" data-label="Resolved">
                  {i.resolvedAt ? <RelativeTime iso={i.resolvedAt} /> : <span className="muted">—</span>}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
