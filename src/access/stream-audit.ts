import type { StreamEvent } from "../protocol/relay-access.js";
import { formatHostPort } from "../protocol/target.js";
import type { ErrorCode } from "../shared/errors.js";
import { audit } from "./audit-log.js";
import type { AccessContext } from "./context.js";
import { finishAudit } from "./store/audit.js";

/** Refusals by policy are "denied"; everything else that stopped a stream is an "error". */
const DENIED: ReadonlySet<ErrorCode> = new Set(["unauthenticated", "forbidden", "not-found", "target-not-allowed", "invalid-input"]);

/** Writes the audit trail of streams: one record per stream, and one per refusal. */
export function createStreamAudit(ctx: AccessContext): (event: StreamEvent) => void {
  // The close of a stream must update the row its open inserted, even if that insert is slow.
  const opening = new Map<string, Promise<unknown>>();

  return function record(event: StreamEvent): void {
    const at = event.at.toISOString();
    switch (event.kind) {
      case "refused": {
        const { request, requester, grant, error } = event;
        void audit(ctx, {
          accountId: grant?.accountId ?? requester?.accountId ?? null,
          actor: grant?.userName ?? requester?.userName ?? null,
          source: request.source,
          action: "stream",
          object: `${request.device}/${formatHostPort(request.target)}`,
          result: DENIED.has(error.code) ? "denied" : "error",
          reason: `${error.code}: ${error.message}`,
          device: grant?.deviceName ?? request.device,
          target: formatHostPort(request.target),
        });
        return;
      }
      case "opened": {
        const { request, grant, streamId } = event;
        const insert = audit(ctx, {
          accountId: grant.accountId,
          actor: grant.userName,
          source: request.source,
          action: "stream",
          object: streamId,
          result: "ok",
          device: grant.deviceName,
          target: formatHostPort(request.target),
        });
        opening.set(streamId, insert);
        return;
      }
      case "closed": {
        const inserted = opening.get(event.streamId);
        opening.delete(event.streamId);
        void ctx.work.track((async () => {
          const id = await inserted;
          if (typeof id !== "string") return;
          await finishAudit(ctx.db, id, {
            endedAt: at,
            bytesUp: event.bytesUp,
            bytesDown: event.bytesDown,
            ...(event.error ? { reason: `ended abnormally: ${event.error.message}` } : {}),
          });
        })().catch((err: unknown) => ctx.log.error("audit update failed", { error: String(err) })));
        return;
      }
    }
  };
}
