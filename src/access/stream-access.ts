import type { Requester, StreamGrant, StreamRequest } from "../protocol/relay-access.js";
import type { AccessContext } from "./context.js";
import { deviceByName } from "./devices.js";

/**
 * Decides whether an authenticated user may open a stream to a device's target. A device of
 * another account reads as missing.
 */
export async function authorizeStream(ctx: AccessContext, who: Requester, request: StreamRequest): Promise<StreamGrant> {
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
