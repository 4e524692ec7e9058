import type { ActivationKeyResponse, DeviceAccessInfo, DeviceAddRequest, DeviceInfo } from "../protocol/api.js";
import { CidrSyntaxError, formatCidr, networkCidr, parseCidr } from "../protocol/cidr.js";
import { FernlinkError } from "../protocol/errors.js";
import { SwitchState } from "../protocol/key-switch.js";
import { accessChanged } from "./access-changes.js";
import { canView, type DeviceAccess } from "./access-decision.js";
import { deviceAccess, devicesAccess, type Viewer } from "./access-model.js";
import { ACTIVATION_KEY_TTL_MS, hashActivationKey, newActivationKey } from "./activation-key.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { revalidateStreams } from "./live-streams.js";
import { noSuchDevice, noSuchDeviceFor } from "./no-such-device.js";
import { ensureAdmin } from "./roles.js";
import { createActivationKey } from "./store/activation-keys.js";
import { revokeDeviceCertificates } from "./store/certificates.js";
import { createDevice, deviceLan, findDeviceByName, listDevices, removeDevice } from "./store/devices.js";
import { devicePoolNames } from "./store/pools.js";
import { listRelays } from "./store/relays.js";
import type { Device } from "./store/schema.js";

function normaliseLan(lan: string[]): string[] {
  try {
    // Stored as the network it means, so listings show what the agent will allow.
    return lan.map((c) => formatCidr(networkCidr(parseCidr(c))));
  } catch (err) {
    if (err instanceof CidrSyntaxError) throw new FernlinkError("invalid-input", `--lan ${err.message}`);
    throw err;
  }
}

/** What `deviceInfo` needs besides the device: relay names by id, and pool names by device id. */
interface InfoLookup {
  relays: ReadonlyMap<string, string>;
  pools: ReadonlyMap<string, string[]>;
}

/** Loads the relay names, and the pool names of the account's devices (of one device when given). */
async function infoLookup(ctx: AccessContext, accountId: string, deviceId?: string): Promise<InfoLookup> {
  const [relays, pools] = await Promise.all([listRelays(ctx.db), devicePoolNames(ctx.db, accountId, deviceId)]);
  return { relays: new Map(relays.map((r) => [r.id, r.name])), pools };
}

/** A stored switch position; anything else (a newer version's word) reads as unknown. */
function storedSwitch(value: string | null): SwitchState | null {
  const parsed = SwitchState.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** A device as the API shows it, with its live state from the relays. */
export function deviceInfo(ctx: AccessContext, device: Device, lookup: InfoLookup): DeviceInfo {
  const live = ctx.presence.status(device.id);
  // A relay removed since the device's last connection is shown by its id rather than not at all.
  const lastRelay = device.relay_id === null ? null : (lookup.relays.get(device.relay_id) ?? device.relay_id);
  const registered = device.cert_serial !== null;
  return {
    id: device.id,
    name: device.name,
    state: live !== undefined ? "online" : registered ? "offline" : "not-registered",
    online: live !== undefined,
    lastSeen: live ? ctx.now().toISOString() : device.last_seen,
    relay: live?.relay ?? lastRelay,
    lan: deviceLan(device),
    registered,
    createdAt: device.created_at,
    address: live?.address ?? device.last_address,
    pools: lookup.pools.get(device.id) ?? [],
    switch: storedSwitch(device.switch_state),
    switchedAt: device.switch_at,
  };
}

function accessInfo(access: DeviceAccess): DeviceAccessInfo {
  return access.level === "connect" ? { level: "connect", targets: access.targets } : { level: "view", targets: [] };
}

/**
 * Finds a device of the caller's account that the caller may see; another account's device,
 * and for a member a device no access rule shows, read as missing.
 */
export async function deviceByName(ctx: AccessContext, who: Viewer, name: string): Promise<Device> {
  const device = await findDeviceByName(ctx.db, who.accountId, name);
  if (!device || (who.role !== "admin" && !canView(await deviceAccess(ctx, who, device)))) throw noSuchDevice(name);
  return device;
}

/** `device show`: a member's attempt on a device no rule shows is refused as missing, and recorded. */
export async function showDevice(ctx: AccessContext, who: Principal, name: string): Promise<DeviceInfo> {
  const device = await findDeviceByName(ctx.db, who.accountId, name);
  if (!device) throw await noSuchDeviceFor(ctx, who, name);
  const access = await deviceAccess(ctx, who, device);
  if (!canView(access)) {
    await auditBy(ctx, who, "device.show", name, "denied", "not-found: no access rule shows this device to the user");
    throw await noSuchDeviceFor(ctx, who, name);
  }
  return { ...deviceInfo(ctx, device, await infoLookup(ctx, who.accountId, device.id)), access: accessInfo(access) };
}

async function issueKey(ctx: AccessContext, device: Device): Promise<{ activationKey: string; expiresAt: string }> {
  const activationKey = newActivationKey();
  const now = ctx.now();
  const expiresAt = new Date(now.getTime() + ACTIVATION_KEY_TTL_MS).toISOString();
  await createActivationKey(ctx.db, { deviceId: device.id, keyHash: hashActivationKey(activationKey), now: now.toISOString(), expiresAt });
  return { activationKey, expiresAt };
}

/** Adds a device and returns its first one-time activation key. */
export async function addDevice(ctx: AccessContext, who: Principal, input: DeviceAddRequest): Promise<ActivationKeyResponse> {
  await ensureAdmin(ctx, who, "device.add", input.name);
  const lan = normaliseLan(input.lan);
  const device = await createDevice(ctx.db, { accountId: who.accountId, name: input.name, lan, now: ctx.now().toISOString() });
  await accessChanged(ctx, who.accountId);
  const key = await issueKey(ctx, device);
  await auditBy(ctx, who, "device.add", input.name);
  return { device: deviceInfo(ctx, device, { relays: new Map(), pools: new Map() }), ...key };
}

/** A new activation key for an existing device (to register it again, e.g. on new hardware). */
export async function newDeviceKey(ctx: AccessContext, who: Principal, name: string): Promise<ActivationKeyResponse> {
  await ensureAdmin(ctx, who, "device.activation-key", name);
  const device = await deviceByName(ctx, who, name);
  const key = await issueKey(ctx, device);
  await auditBy(ctx, who, "device.activation-key", name);
  return { device: deviceInfo(ctx, device, await infoLookup(ctx, who.accountId, device.id)), ...key };
}

/** The devices of the caller's account; a member gets only those an access rule shows. */
export async function listAccountDevices(ctx: AccessContext, who: Principal): Promise<DeviceInfo[]> {
  const devices = await listDevices(ctx.db, who.accountId);
  const [access, lookup] = await Promise.all([who.role === "admin" ? undefined : devicesAccess(ctx, who, devices), infoLookup(ctx, who.accountId)]);
  return devices.filter((d) => !access || canView(access.get(d.id)!)).map((d) => deviceInfo(ctx, d, lookup));
}

/** Removes a device: its certificates are revoked and its live tunnel is closed. */
export async function removeAccountDevice(ctx: AccessContext, who: Principal, name: string): Promise<void> {
  await ensureAdmin(ctx, who, "device.remove", name);
  const device = await deviceByName(ctx, who, name);
  await ctx.db.transaction().execute(async (trx) => {
    await revokeDeviceCertificates(trx, device.id, ctx.now().toISOString());
    await removeDevice(trx, device.id);
  });
  await accessChanged(ctx, who.accountId);
  ctx.presence.disconnect(device.id);
  await revalidateStreams(ctx, who.accountId);
  await auditBy(ctx, who, "device.remove", name);
}
