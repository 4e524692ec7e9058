import { reasonRequired } from "../protocol/connect-reason.js";
import { FernlinkError } from "../protocol/errors.js";
import type { Requester, StreamGrant, StreamRequest } from "../protocol/relay-access.js";
import { showTarget } from "../protocol/target-filter.js";
import { type DeviceAccess, decideStream } from "./access-decision.js";
import { deviceAccess, type Viewer } from "./access-model.js";
import type { AccessContext } from "./context.js";
import { noSuchDeviceFor } from "./no-such-device.js";
import { isRecorded } from "./recorded-targets.js";
import { findDeviceByName } from "./store/devices.js";
import type { Device } from "./store/schema.js";

/** Where `authorizeStream` reads a device and a user's access to it: the store, or the stream cache. */
export interface StreamLookup {
  device(accountId: string, name: string): Promise<Device | undefined>;
  access(who: Viewer, device: Device): Promise<DeviceAccess>;
}

/** The lookups straight from the store. */
export function storeLookup(ctx: AccessContext): StreamLookup {
  return { device: (accountId, name) => findDeviceByName(ctx.db, accountId, name), access: (who, device) => deviceAccess(ctx, who, device) };
}

/**
 * Decides whether an authenticated user may open a stream to a device's target, by the
 * access rules. A device of another account, or one no rule shows the user, reads as missing;
 * a device the user may only see is forbidden; a target outside the rules is not allowed.
 * The grant carries the entries the agent checks again after it resolved the target.
 */
export async function authorizeStream(ctx: AccessContext, who: Requester, request: StreamRequest, lookup = storeLookup(ctx)): Promise<StreamGrant> {
  // A published port's connections come from machines, not people: its job was made by an admin.
  if (who.reasonRequired && request.reason === undefined && request.job === undefined) throw reasonRequired();
  const device = await lookup.device(who.accountId, request.device);
  const access = device ? await lookup.access(who, device) : undefined;
  const decision = decideStream(access ?? { level: "none", targets: [] }, request.target);
  const target = showTarget(request.target);
  switch (decision.outcome) {
    case "not-found":
      throw await noSuchDeviceFor(ctx, who, request.device);
    case "forbidden":
      throw new FernlinkError("forbidden", `you may see device "${request.device}" but not connect to it; ask an account admin for a connect rule`);
    case "target-not-allowed": {
      const allowed =
        decision.targets.length > 0 ? `your access rules allow ${decision.targets.join(", ")}` : `device "${request.device}" has no LAN ranges (--lan)`;
      throw new FernlinkError(
        "target-not-allowed",
        `target ${target} on "${request.device}" is not allowed for ${who.userName} (${allowed}); ask an account admin`,
      );
    }
    case "allow":
      return {
        accountId: who.accountId,
        userId: who.userId,
        userName: who.userName,
        sessionId: who.sessionId,
        ...(who.tokenName !== undefined ? { tokenName: who.tokenName } : {}),
        deviceId: device!.id,
        deviceName: device!.name,
        lastSeen: device!.last_seen,
        allowedTargets: decision.targets,
        ...(isRecorded(device!, request.target) ? { record: true } : {}),
      };
  }
}
