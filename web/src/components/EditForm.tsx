/** The frame the job and monitor forms share: breadcrumb, title and the save banners on
 * top; Cancel and the submit button at the bottom. */
import type { ReactNode } from "react";
import { Link } from "../router";
import { Banner, ErrorList, Spinner } from "./ui";

interface Subject {
  /** "job" or "monitor": used in the titles and messages. */
  noun: string;
  /** The list page: "/jobs" or "/monitors". */
  listPath: string;
  /** The list page's name in the breadcrumb. */
  listLabel: string;
  /** The thing being edited; null when creating one. */
  item: { id: string; name: string } | null;
}

export function EditFormHeader({
  subject,
  readOnly,
  banner,
  fieldErrors,
}: {
  subject: Subject;
  readOnly: boolean;
  /** Errors no field shows. */
  banner: string[];
  /** True when a submitted form has errors beside its fields. */
  fieldErrors: boolean;
}) {
  const { noun, listPath, listLabel, item } = subject;
  return (
    <>
      <div className="page-header">
        <div>
          <div className="breadcrumb">
            <Link to={listPath}>{listLabel}</Link>
            {item ? (
              <>
                {" / "}
                <Link to={`${listPath}/${item.id}`}>{item.name}</Link>
              </>
            ) : null}
          </div>
          <h1>{item ? `Edit ${noun}` : `New ${noun}`}</h1>
        </div>
      </div>

      <div className="form-layout">
        {readOnly ? (
          <Banner tone="info" title={`Viewers can read ${noun}s but not change them`}>
            Ask an admin for a member account to create and edit {noun}s.
          </Banner>
        ) : null}
        {banner.length ? <ErrorList title={`The ${noun} was not saved`} messages={banner} /> : null}
        {fieldErrors && banner.length === 0 ? (
          <Banner tone="error" title="Check the highlighted fields">
            The {noun} was not saved yet.
          </Banner>
        ) : null}
      </div>
    </>
  );
}

export function EditFormActions({
  subject,
  saving,
  disabled,
}: {
  subject: Subject;
  saving: boolean;
  disabled: boolean;
}): ReactNode {
  const { noun, listPath, item } = subject;
  return (
    <div className="form-actions">
      <Link to={item ? `${listPath}/${item.id}` : listPath} className="btn">
        Cancel
      </Link>
      <button type="submit" className="btn btn-primary" disabled={saving || disabled}>
        {saving ? <Spinner /> : null}
        {item ? "Save changes" : `Create ${noun}`}
      </button>
    </div>
  );
}
