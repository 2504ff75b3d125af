// "2 min ago", kept current by the page's shared clock, with the exact time on hover.
import { formatLocal, fromNow } from "../lib/format";
import { useNow } from "../lib/clock";

export function RelativeTime({ iso }: { iso: string }) {
  const now = useNow();
  return (
    <time dateTime={iso} title={formatLocal(iso, { year: true, seconds: true })}>
      {fromNow(iso, now)}
    </time>
  );
}
