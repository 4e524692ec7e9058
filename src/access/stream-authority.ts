import type { Requester, StreamAuthority, StreamEvent, StreamGrant, StreamRequest } from "../protocol/relay-access.js";
import { formatHostPort } from "../protocol/target.js";
import type { ErrorCode } from "../shared/errors.js";
import { audit } from "./audit-log.js";
import type { AccessContext } from "./context.js";
import { deviceByName } from "./devices.js";
import { authenticate } from "./sessions.js";
import { finishAudit } from "./store/audit.js";

/** Refusals by policy are "denied"; everything else that stopped a stream is an "error". */
const DENIED: ReadonlySet<ErrorCode> = new Set(["unauthenticated", "forbidden", "not-found", "target-not-allowed", "invalid-input"]);

/**
 * The access service's side of every stream: decides who may open it and writes its audit
 * record — one row per stream, inserted when it opens and completed when it closes.
 */
export function createStreamAuthority(ctx: AccessContext): StreamAuthority {
  // The close of a stream must update the row its open inserted, even if that insert is slow.
  const opening = new Map<string, Promise<unknown>>();

  async function authenticateRequest(request: StreamRequest): Promise<Requester> {
    const principal = await authenticate(ctx, request.token, request.source);
    return { accountId: principal.accountId, userId: principal.userId, userName: principal.userName };
  }

  async function authorize(who: Requester, request: StreamRequest): Promise<StreamGrant> {
    const device = await deviceByName(ctx, who, request.device);
    return {
      accountId: who.accountId,
      userId: who.userId,
      userName: who.userName,
      deviceId: device.id,
      deviceName: device.name,
      lastSeen: device.last_seen,
    };
  }

  function record(event: StreamEvent): void {
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
  }

  return { authenticate: authenticateRequest, authorize, record };
}
