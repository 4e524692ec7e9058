import type { SessionInfo } from "../protocol/api-users.js";
import { FernlinkError } from "../protocol/errors.js";
import { accessChanged } from "./access-changes.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { cutStreamsOfEndedSessionsEverywhere } from "./session-streams.js";
import { SESSION_IDLE_MS, TOUCH_INTERVAL_MS } from "./session-times.js";
import { findAccountSession, type ListedSession, listLiveSessions, revokeSession } from "./store/sessions.js";
import { auditRefusals } from "./users.js";

function sessionInfo(s: ListedSession, who: Principal): SessionInfo {
  return {
    id: s.id,
    user: s.user_name,
    source: s.source,
    kind: s.kind,
    startedAt: s.created_at,
    lastSeenAt: s.last_used_at,
    expiresAt: s.expires_at,
    current: s.id === who.sessionId,
  };
}

/**
 * The live sessions an admin sees all of in the account, a member only their own: neither
 * ended, past their end nor idle (with the same allowance as `authenticate`).
 */
export async function listSessions(ctx: AccessContext, who: Principal): Promise<SessionInfo[]> {
  const now = ctx.now();
  const rows = await listLiveSessions(ctx.db, { accountId: who.accountId, now, ...(who.role === "admin" ? {} : { userId: who.userId }) });
  return rows.filter((s) => now.getTime() - Date.parse(s.last_used_at) <= SESSION_IDLE_MS + TOUCH_INTERVAL_MS).map((s) => sessionInfo(s, who));
}

/**
 * Ends one session and cuts its live streams (here and on every other node). An admin ends any
 * session of the account, a member only their own; anyone else's reads as missing.
 */
export async function endSession(ctx: AccessContext, who: Principal, id: string): Promise<void> {
  const session = await auditRefusals(ctx, who, "session.end", id, async () => {
    const found = await findAccountSession(ctx.db, who.accountId, id);
    if (!found || (who.role !== "admin" && found.user_id !== who.userId)) {
      throw new FernlinkError("not-found", `no such session "${id}"; see: fernlink session list`);
    }
    await revokeSession(ctx.db, found.id, ctx.now());
    return found;
  });
  await accessChanged(ctx, who.accountId);
  await cutStreamsOfEndedSessionsEverywhere(ctx, who.accountId);
  const was = session.revoked_at !== null ? "had ended already" : `session of ${session.user_name}${session.source ? ` from ${session.source}` : ""}`;
  await auditBy(ctx, who, "session.end", id, "ok", was);
}
