import type { LiveStream, StreamGrant } from "../protocol/relay-access.js";
import { judgeTarget, parseTargetEntry } from "../protocol/target-filter.js";
import type { AccessContext } from "./context.js";
import { getUser } from "./store/users.js";
import { authorizeStream } from "./stream-access.js";

/**
 * An IP-literal target inside a range is judged again in full by `authorizeStream`. A
 * stream the agent judged (a host name) was opened under the allowed targets it was sent:
 * it stays only while every one of them is still granted.
 */
function stillCovered(stream: LiveStream, now: StreamGrant): boolean {
  if (judgeTarget(now.allowedTargets.map(parseTargetEntry), stream.request.target) === "allowed") return true;
  const current = new Set(now.allowedTargets);
  const opened = stream.grant;
  return opened.allowedTargets.every((t) => current.has(t));
}

/**
 * Checks every live stream of an account against the current users, devices and rules, and
 * cuts those no longer allowed. Called after each change that can take a right away, so a
 * revoked rule, a removed user or a removed device ends the stream at once; in a cluster
 * every other node is told to do the same with the streams it carries. Returns how many
 * streams this node cut.
 */
export async function revalidateStreams(ctx: AccessContext, accountId: string): Promise<number> {
  ctx.cluster?.tell({ type: "revalidate", accountId });
  return revalidateLocalStreams(ctx, accountId);
}

/** `revalidateStreams` for the streams this node carries only. */
export async function revalidateLocalStreams(ctx: AccessContext, accountId: string): Promise<number> {
  let cut = 0;
  for (const stream of ctx.presence.streams(accountId)) {
    const user = await getUser(ctx.db, stream.grant.userId);
    let allowed = user !== undefined && user.admin_locked_at === null;
    if (user && allowed) {
      try {
        const { sessionId, tokenName } = stream.grant;
        const who = { accountId, userId: user.id, userName: user.name, role: user.role, sessionId, ...(tokenName !== undefined ? { tokenName } : {}) };
        const grant = await authorizeStream(ctx, who, stream.request);
        allowed = grant.deviceId === stream.grant.deviceId && stillCovered(stream, grant);
      } catch {
        allowed = false;
      }
    }
    if (!allowed) {
      ctx.presence.cutStream(stream.streamId);
      ctx.log.info("stream cut: access withdrawn", { stream: stream.streamId, user: stream.grant.userName, device: stream.grant.deviceName });
      cut++;
    }
  }
  return cut;
}

/**
 * Cuts the account's live streams opened with `token` (its session just ended); returns how
 * many. Other nodes of a cluster, which never see the token, cut the streams of ended sessions.
 */
export function cutStreamsOfToken(ctx: AccessContext, accountId: string, token: string): number {
  ctx.cluster?.tell({ type: "end-sessions", accountId });
  let cut = 0;
  for (const stream of ctx.presence.streams(accountId)) {
    if (stream.request.token !== token) continue;
    ctx.presence.cutStream(stream.streamId);
    cut++;
  }
  return cut;
}
