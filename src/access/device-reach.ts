import type { DeviceReach } from "../protocol/api.js";
import { deviceAccess } from "./access-model.js";
import type { AccessContext, Principal } from "./context.js";
import { noSuchDeviceFor } from "./no-such-device.js";
import { findDeviceByName } from "./store/devices.js";

/**
 * What `who` may reach on a device: the level and the target entries the relay would check a
 * stream against. A device the user may not see reads as missing, as everywhere else
 * (with whom to ask, when no rule shows the user any device).
 */
export async function deviceReach(ctx: AccessContext, who: Principal, name: string): Promise<DeviceReach> {
  const device = await findDeviceByName(ctx.db, who.accountId, name);
  const access = device ? await deviceAccess(ctx, who, device) : undefined;
  if (!device || !access || access.level === "none") throw await noSuchDeviceFor(ctx, who, name);
  return { device: device.name, level: access.level, targets: access.targets };
}
