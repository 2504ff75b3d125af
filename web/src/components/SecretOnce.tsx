/** A secret shown once, right after it was made (an API token, a webhook's signing
 * secret): copy it or dismiss it; the server never returns it again. */
import type { ReactNode } from "react";
import { CopyIcon } from "./icons";
import { Banner, useToast } from "./ui";

export function SecretOnce({
  title,
  secret,
  testId,
  onDone,
  children,
}: {
  title: string;
  secret: string;
  testId: string;
  onDone: () => void;
  children?: ReactNode;
}) {
  const toast = useToast();
  return (
    <div style={{ marginTop: 16 }}>
      <Banner tone="ok" title={title}>
        {children}
        <div className="secret-box" style={{ marginTop: 8 }}>
          <code data-testid={testId}>{secret}</code>
          <button
            type="button"
            className="btn btn-sm"
            onClick={() => {
              void navigator.clipboard?.writeText(secret).then(() => toast("Copied"));
            }}
          >
            <CopyIcon /> Copy
          </button>
          <button type="button" className="btn btn-sm btn-ghost" onClick={onDone}>
            Done
          </button>
        </div>
      </Banner>
    </div>
  );
}
