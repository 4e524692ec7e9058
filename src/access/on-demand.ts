import type { CheckInResponse, WakeResponse } from "../protocol/api-on-demand.js";
import { FernlinkError } from "../protocol/errors.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { deviceAccess } from "./access-model.js";
import type { AccessContext, Principal } from "./context.js";
import { noSuchDevice } from "./no-such-device.js";
import { isOnDemand, isWanted, wakeView, wishUntil } from "./on-demand-state.js";
import { findCheckIn, recordCheckIn, wantDevice } from "./store/device-check-ins.js";
import { findDeviceByName } from "./store/devices.js";

/** An on-demand agent checked in: note it, and tell it whether someone wants its tunnel. */
export async function checkIn(ctx: AccessContext, identity: AgentIdentity, everySeconds: number): Promise<CheckInResponse> {
  const now = ctx.now();
  const row = await recordCheckIn(ctx.db, { deviceId: identity.deviceId, intervalSeconds: everySeconds, now });
  return { wanted: isWanted(row, now) };
}

/**
 * Asks for a device's tunnel: an on-demand agent connects at its next check-in. For the code
 * that needs a device without a user waiting on it (a published port's connection); harmless
 * for a device that is always connected.
 */
export async function askForDevice(ctx: AccessContext, deviceId: string): Promise<void> {
  const now = ctx.now();
  await wantDevice(ctx.db, deviceId, wishUntil(await findCheckIn(ctx.db, deviceId), now));
}

/** A user asks for a device's tunnel (connect level needed) and learns when to expect it. */
export async function wakeDevice(ctx: AccessContext, who: Principal, name: string): Promise<WakeResponse> {
  const device = await findDeviceByName(ctx.db, who.accountId, name);
  const access = device ? await deviceAccess(ctx, who, device) : undefined;
  if (!device || !access || access.level === "none") throw noSuchDevice(name);
  if (access.level !== "connect") throw new FernlinkError("forbidden", `you may see "${device.name}" but not connect to it; ask an admin for a connect rule`);
  const now = ctx.now();
  const row = await findCheckIn(ctx.db, device.id);
  const online = ctx.presence.status(device.id) !== undefined;
  // An on-demand device that is up stays up while someone keeps asking (a running `connect`).
  if (!online || isOnDemand(row, now)) await wantDevice(ctx.db, device.id, wishUntil(row, now));
  return wakeView(device.name, row, online, now);
}
