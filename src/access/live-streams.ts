import type { AccessContext } from "./context.js";
import { authorizeStream } from "./stream-access.js";
import { getUser } from "./store/users.js";

/**
 * Checks every live stream of an account against the current users, devices and rules, and
 * cuts those no longer allowed. Called after each change that can take a right away, so a
 * revoked rule, a removed user or a removed device ends the stream at once.
 */
export async function revalidateStreams(ctx: AccessContext, accountId: string): Promise<number> {
  let cut = 0;
  for (const stream of ctx.presence.streams(accountId)) {
    const user = await getUser(ctx.db, stream.grant.userId);
    let allowed = user !== undefined;
    if (user) {
      try {
        const grant = await authorizeStream(ctx, { accountId, userId: user.id, userName: user.name, role: user.role }, stream.request);
        allowed = grant.deviceId === stream.grant.deviceId;
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
