import type { LiveStreamInfo, LiveStreams, LiveTunnels, StatusResponse } from "../protocol/api-live.js";
import { FernlinkError } from "../protocol/errors.js";
import type { LiveStream } from "../protocol/relay-access.js";
import { streamTargetLabel } from "../protocol/stream-headers.js";
import { audit } from "./audit-log.js";
import type { AccessContext, Presence, Principal } from "./context.js";

/** Who is looking at the live view: the account, and for a member whose streams are theirs. */
export type LiveViewer = Pick<Principal, "accountId" | "userId" | "role">;

/** The account's streams; filtered here again so that no Presence can leak another account's. */
function accountStreams(presence: Presence, accountId: string): LiveStream[] {
  return (presence.clusterStreams?.(accountId) ?? presence.streams(accountId)).filter((s) => s.grant.accountId === accountId);
}

/** The account's tunnels, sorted by device name. */
export function liveTunnels(presence: Presence, accountId: string): LiveTunnels {
  const tunnels = presence
    .tunnels(accountId)
    .map((t) => ({ device: t.deviceName, address: t.address, since: t.since.toISOString(), relay: t.relay }))
    .sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  return { tunnels };
}

/** A relay's live stream as the API shows it. */
export function liveStreamInfo(stream: LiveStream): LiveStreamInfo {
  return {
    id: stream.streamId,
    user: stream.grant.userName,
    device: stream.grant.deviceName,
    target: streamTargetLabel(stream.request.target, stream.request.protocol),
    source: stream.request.source,
    since: stream.startedAt.toISOString(),
    bytesUp: stream.bytesUp,
    bytesDown: stream.bytesDown,
  };
}

/** The account's streams, oldest first. */
export function liveStreams(presence: Presence, accountId: string): LiveStreams {
  const streams = accountStreams(presence, accountId)
    .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || (a.streamId < b.streamId ? -1 : 1))
    .map(liveStreamInfo);
  return { streams };
}

/** The streams a viewer's live events speak of: an admin's whole account, a member's own. */
export function viewerStreams(presence: Presence, who: LiveViewer): LiveStream[] {
  const streams = accountStreams(presence, who.accountId);
  return who.role === "admin" ? streams : streams.filter((s) => s.grant.userId === who.userId);
}

/** How many streams, and their bytes so far each way. */
export function streamTotals(streams: readonly LiveStream[]): { count: number; bytesUp: number; bytesDown: number } {
  return streams.reduce((t, s) => ({ count: t.count + 1, bytesUp: t.bytesUp + s.bytesUp, bytesDown: t.bytesDown + s.bytesDown }), {
    count: 0,
    bytesUp: 0,
    bytesDown: 0,
  });
}

/** What the server says about itself. */
export interface ServerInfo {
  version: string;
  startedAt: Date;
  now: Date;
}

/**
 * Version, uptime and the account's live counts. Relays are listed by id with only this
 * account's tunnels and streams: an admin of one account learns nothing of the others.
 */
export function statusSummary(presence: Presence, accountId: string, server: ServerInfo): StatusResponse {
  return {
    version: server.version,
    startedAt: server.startedAt.toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((server.now.getTime() - server.startedAt.getTime()) / 1000)),
    relays: presence
      .relays(accountId)
      .map((r) => ({ id: r.id, tunnels: r.tunnels, streams: r.streams }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    agents: presence.tunnels(accountId).length,
    streams: accountStreams(presence, accountId).length,
  };
}

/**
 * Cuts a live stream of the caller's account and records "stream.close": here, or in a
 * cluster on the node that carries it. A stream of another account reads as missing and is
 * never touched.
 */
export async function closeLiveStream(ctx: AccessContext, who: Principal, streamId: string): Promise<void> {
  // This node's own streams only: another node's (listed from the store) is cut by that node.
  const local = ctx.presence.streams(who.accountId).find((s) => s.grant.accountId === who.accountId && s.streamId === streamId);
  if (local) ctx.presence.cutStream(streamId);
  const stream = local
    ? {
        userId: local.grant.userId,
        userName: local.grant.userName,
        deviceName: local.grant.deviceName,
        target: streamTargetLabel(local.request.target, local.request.protocol),
      }
    : await ctx.cluster?.closeStream(who.accountId, streamId);
  if (!stream) throw new FernlinkError("not-found", `no live stream "${streamId}" in this account; see: fernlink live`);
  ctx.changes.publish({ kind: "streams", accountId: who.accountId, streamId, userId: stream.userId, change: "cut" });
  await audit(ctx, {
    accountId: who.accountId,
    actor: who.userName,
    source: who.source,
    action: "stream.close",
    object: streamId,
    result: "ok",
    reason: `stream of user "${stream.userName}"`,
    device: stream.deviceName,
    target: stream.target,
    token: who.tokenName ?? null,
  });
}
