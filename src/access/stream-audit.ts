import { streamNote } from "../protocol/connect-reason.js";
import type { ErrorCode } from "../protocol/errors.js";
import type { StreamEvent, StreamGrant, StreamRequest } from "../protocol/relay-access.js";
import { streamTargetLabel } from "../protocol/stream-headers.js";
import { audit } from "./audit-log.js";
import type { AccessContext } from "./context.js";

/** Refusals by policy are "denied"; everything else that stopped a stream is an "error". */
const DENIED: ReadonlySet<ErrorCode> = new Set([
  "unauthenticated",
  "forbidden",
  "not-found",
  "target-not-allowed",
  "remote-access-off",
  "invalid-input",
  "password-expired",
  "otp-enrollment-required",
  "account-disabled",
  "password-change-required",
  "user-locked",
  "too-many-streams",
  "reason-required",
]);

/** The note of a stream whose bytes the relay keeps. */
function recordedNote(grant: StreamGrant): string | null {
  return grant.record ? "bytes recorded" : null;
}

/** The note of a closed stream: how it ended abnormally, and whether it was recorded. */
function closingNote(grant: StreamGrant, error: Error | undefined): string | null {
  const notes = [recordedNote(grant), error ? `ended abnormally: ${error.message}` : null].filter((n) => n !== null);
  return notes.length > 0 ? notes.join("; ") : null;
}

interface OpenStream {
  request: StreamRequest;
  grant: StreamGrant;
  startedAt: Date;
}

/**
 * How long a stream's record may wait to share a transaction: streams that open and close one
 * after another otherwise took a transaction per record, about a third of the server's CPU per
 * stream. A crash loses at most this much of the trail.
 */
export const STREAM_AUDIT_WITHIN_MS = 10;
const SOON = { withinMs: STREAM_AUDIT_WITHIN_MS };

/**
 * Writes the audit trail of streams. Records are never updated, so a stream gets a small
 * "stream.open" record when it opens (a crash still leaves a trace) and its "stream" record
 * — start, end, bytes each way — when it closes. Each refusal is one "stream" record too.
 * Opens and closes are also told to the change feed, for the portal's live view.
 */
export function createStreamAudit(ctx: AccessContext): (event: StreamEvent) => void {
  const open = new Map<string, OpenStream>();

  return function record(event: StreamEvent): void {
    switch (event.kind) {
      case "refused": {
        const { request, requester, grant, error } = event;
        void audit(
          ctx,
          {
            accountId: grant?.accountId ?? requester?.accountId ?? null,
            actor: grant?.userName ?? requester?.userName ?? null,
            source: request.source,
            action: "stream",
            object: `${request.device}/${streamTargetLabel(request.target, request.protocol)}`,
            result: DENIED.has(error.code) ? "denied" : "error",
            reason: streamNote(request.reason, `${error.code}: ${error.message}`),
            device: grant?.deviceName ?? request.device,
            target: streamTargetLabel(request.target, request.protocol),
            at: event.at,
            token: grant?.tokenName ?? requester?.tokenName ?? null,
          },
          SOON,
        );
        return;
      }
      case "opened": {
        const { request, grant, streamId } = event;
        open.set(streamId, { request, grant, startedAt: event.at });
        ctx.changes.publish({ kind: "streams", accountId: grant.accountId, streamId, userId: grant.userId, change: "opened" });
        void audit(
          ctx,
          {
            accountId: grant.accountId,
            actor: grant.userName,
            source: request.source,
            action: "stream.open",
            object: streamId,
            result: "ok",
            reason: streamNote(request.reason, recordedNote(grant)),
            device: grant.deviceName,
            target: streamTargetLabel(request.target, request.protocol),
            at: event.at,
            startedAt: event.at,
            token: grant.tokenName ?? null,
          },
          SOON,
        );
        return;
      }
      case "closed": {
        const opened = open.get(event.streamId);
        open.delete(event.streamId);
        if (opened === undefined) {
          ctx.log.error("audit: a stream closed that was never opened", { stream: event.streamId });
          return;
        }
        const { request, grant, startedAt } = opened;
        ctx.changes.publish({ kind: "streams", accountId: grant.accountId, streamId: event.streamId, userId: grant.userId, change: "closed" });
        void audit(
          ctx,
          {
            accountId: grant.accountId,
            actor: grant.userName,
            source: request.source,
            action: "stream",
            object: event.streamId,
            // The stream itself was allowed and carried bytes: it stays "ok" and says how it ended.
            result: "ok",
            reason: streamNote(request.reason, closingNote(grant, event.error)),
            device: grant.deviceName,
            target: streamTargetLabel(request.target, request.protocol),
            at: event.at,
            startedAt,
            endedAt: event.at,
            bytesUp: event.bytesUp,
            bytesDown: event.bytesDown,
            token: grant.tokenName ?? null,
          },
          SOON,
        );
        return;
      }
    }
  };
}
