/** The footer of a paged list: "Page N" with Newer / Older; hidden when there is one page. */
export function Pager({
  page,
  hasNewer,
  hasOlder,
  onNewer,
  onOlder,
}: {
  page: number;
  hasNewer: boolean;
  hasOlder: boolean;
  onNewer: () => void;
  onOlder: () => void;
}) {
  if (!hasNewer && !hasOlder) return null;
  return (
    <div className="card-footer">
      <span>Page {page}</span>
      <div className="row">
        <button type="button" className="btn btn-sm" disabled={!hasNewer} onClick={onNewer}>
          Newer
        </button>
        <button type="button" className="btn btn-sm" disabled={!hasOlder} onClick={onOlder}>
          Older
        </button>
      </div>
    </div>
  );
}
