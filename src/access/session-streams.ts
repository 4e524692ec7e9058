import { PUBLISH_SESSION_PREFIX } from "../protocol/published-ports.js";
import type { LiveStream } from "../protocol/relay-access.js";
import type { AccessContext } from "./context.js";
import { SESSION_IDLE_MS, TOUCH_INTERVAL_MS } from "./session-times.js";
import { apiTokenStates } from "./store/api-tokens.js";
import { getPublishedPort } from "./store/published-ports.js";
import { sessionStates, touchSession } from "./store/sessions.js";

/**
 * How often live streams are checked against their sessions and API tokens. A stream ends at
 * most this long (plus one store query) after its session or token did.
 */
export const SESSION_SWEEP_INTERVAL_MS = 250;

/** The prefix of a stream's `sessionId` when it was opened with an API token (see api-tokens.ts). */
const TOKEN_SESSION_PREFIX = "token:";

/** Why a session or token no longer holds. */
export type SessionEnd = "revoked" | "expired" | "idle" | "gone";

/** Options of {@link cutStreamsOfEndedSessions}. */
export interface SweepOptions {
  /** Only this account's streams; every account's when absent. */
  accountId?: string;
  /** Sessions whose streams carried bytes from the user since the last sweep: that is use, as a request is. */
  used?: ReadonlySet<string>;
}

function sessionEnd(row: { expires_at: string | null; revoked_at: string | null }, now: Date): SessionEnd | undefined {
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime()) return "expired";
  return undefined;
}

/**
 * Which of these sessions (and `token:` ids) have ended at `now`, and why. A used session that
 * still holds has its last use moved to now, at most once per TOUCH_INTERVAL_MS, with the same
 * idle rule as `authenticate` in sessions.ts.
 */
async function endedSessions(ctx: AccessContext, ids: ReadonlySet<string>, used: ReadonlySet<string>, now: Date): Promise<Map<string, SessionEnd>> {
  const ended = new Map<string, SessionEnd>();
  // A published port's streams hold while its job exists (its owner's rights are checked by revalidation).
  for (const id of [...ids].filter((i) => i.startsWith(PUBLISH_SESSION_PREFIX))) {
    if (!(await getPublishedPort(ctx.db, id.slice(PUBLISH_SESSION_PREFIX.length)))) ended.set(id, "gone");
  }
  const sessionIds = [...ids].filter((id) => !id.startsWith(TOKEN_SESSION_PREFIX) && !id.startsWith(PUBLISH_SESSION_PREFIX));
  const tokenIds = [...ids].filter((id) => id.startsWith(TOKEN_SESSION_PREFIX)).map((id) => id.slice(TOKEN_SESSION_PREFIX.length));
  const sessions = sessionIds.length > 0 ? new Map((await sessionStates(ctx.db, sessionIds)).map((s) => [s.id, s])) : new Map();
  for (const id of sessionIds) {
    const row = sessions.get(id);
    const idleMs = row ? now.getTime() - Date.parse(row.last_used_at) : 0;
    const end = !row ? "gone" : (sessionEnd(row, now) ?? (idleMs > SESSION_IDLE_MS + TOUCH_INTERVAL_MS ? "idle" : undefined));
    if (end) ended.set(id, end);
    else if (used.has(id) && idleMs > TOUCH_INTERVAL_MS) await touchSession(ctx.db, id, now);
  }
  const tokens = tokenIds.length > 0 ? new Map((await apiTokenStates(ctx.db, tokenIds)).map((t) => [t.id, t])) : new Map();
  for (const id of tokenIds) {
    const row = tokens.get(id);
    const end = row ? sessionEnd(row, now) : "gone";
    if (end) ended.set(`${TOKEN_SESSION_PREFIX}${id}`, end);
  }
  return ended;
}

/**
 * Cuts the live streams whose session or API token has ended: signed out, ended by `passwd`,
 * revoked, past its absolute end or idle limit, or gone with its user. Returns how many.
 */
export async function cutStreamsOfEndedSessions(ctx: AccessContext, options: SweepOptions = {}): Promise<number> {
  const streams = ctx.presence.streams(options.accountId);
  if (streams.length === 0) return 0;
  const now = ctx.now();
  const ended = await endedSessions(ctx, new Set(streams.map((s) => s.grant.sessionId)), options.used ?? new Set(), now);
  let cut = 0;
  for (const stream of streams) {
    const end = ended.get(stream.grant.sessionId);
    if (end === undefined) continue;
    ctx.presence.cutStream(stream.streamId);
    ctx.log.info("stream cut: its session ended", {
      stream: stream.streamId,
      user: stream.grant.userName,
      device: stream.grant.deviceName,
      session: end,
      ...(stream.grant.tokenName ? { token: stream.grant.tokenName } : {}),
    });
    cut++;
  }
  return cut;
}

/**
 * Cuts the account's streams whose session or token has ended, here and, in a cluster, on every
 * other node (without waiting for their next sweep). Returns how many this node cut.
 */
export function cutStreamsOfEndedSessionsEverywhere(ctx: AccessContext, accountId: string): Promise<number> {
  ctx.cluster?.tell({ type: "end-sessions", accountId });
  return cutStreamsOfEndedSessions(ctx, { accountId });
}

/**
 * Checks every live stream against its session or API token every `intervalMs`, so a stream
 * ends within that time of its session's expiry, idle limit or revocation, wherever that
 * happened (another access node, the store). Bytes the user sends on a stream count as use
 * of its session. Returns a stop function.
 */
export function watchSessionStreams(ctx: AccessContext, intervalMs = SESSION_SWEEP_INTERVAL_MS): () => void {
  let bytesUp = new Map<string, number>();
  let running = false;
  const sweep = async (): Promise<void> => {
    const streams: LiveStream[] = ctx.presence.streams();
    const used = new Set<string>();
    const seen = new Map<string, number>();
    for (const s of streams) {
      const before = bytesUp.get(s.streamId);
      if (before !== undefined && s.bytesUp > before) used.add(s.grant.sessionId);
      seen.set(s.streamId, s.bytesUp);
    }
    bytesUp = seen;
    if (streams.length > 0) await cutStreamsOfEndedSessions(ctx, { used });
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void ctx.work
      .track(sweep())
      .catch((err: unknown) => ctx.log.error("cannot check live streams against their sessions", { error: String(err) }))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
