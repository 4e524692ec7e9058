import { type AccessModel, type DeviceAccess, decideDeviceAccess } from "./access-decision.js";
import type { AccessContext, Principal } from "./context.js";
import { rulesReachingUser, ruleTargets } from "./store/access-rules.js";
import { deviceLan } from "./store/devices.js";
import type { Device } from "./store/schema.js";

/** Whose access is asked about: the account, the user and the role of the session. */
export type Viewer = Pick<Principal, "accountId" | "userId" | "role">;

/** Loads the part of the access model that decides `who`'s access to `devices`. */
export async function loadAccessModel(ctx: AccessContext, who: Viewer, devices: readonly Device[]): Promise<AccessModel> {
  const model = {
    users: [{ id: who.userId, accountId: who.accountId, role: who.role }],
    devices: devices.map((d) => ({ id: d.id, accountId: d.account_id, lan: deviceLan(d) })),
    groups: [] as AccessModel["groups"][number][],
    pools: [] as AccessModel["pools"][number][],
    rules: [] as AccessModel["rules"][number][],
  };
  // Admins need no rules; and a member with no devices to ask about needs none either.
  if (who.role === "admin" || devices.length === 0) return model;
  const only = devices.length === 1 ? devices[0]!.id : undefined;
  const reach = await rulesReachingUser(ctx.db, who.accountId, who.userId, only);
  const pools = new Map<string, string[]>();
  const rules = new Map<string, AccessModel["rules"][number]>();
  for (const row of reach) {
    pools.set(row.pool_id, [...(pools.get(row.pool_id) ?? []), row.device_id]);
    rules.set(`${row.group_id}/${row.pool_id}`, {
      accountId: who.accountId,
      groupId: row.group_id,
      poolId: row.pool_id,
      level: row.level,
      targets: ruleTargets(row),
    });
  }
  model.groups = [...new Set(reach.map((r) => r.group_id))].map((id) => ({ id, accountId: who.accountId, members: [who.userId] }));
  model.pools = [...pools].map(([id, ids]) => ({ id, accountId: who.accountId, devices: ids }));
  model.rules = [...rules.values()];
  return model;
}

/** `who`'s access to each of `devices`, by device id. */
export async function devicesAccess(ctx: AccessContext, who: Viewer, devices: readonly Device[]): Promise<Map<string, DeviceAccess>> {
  const model = await loadAccessModel(ctx, who, devices);
  return new Map(devices.map((d) => [d.id, decideDeviceAccess(model, who.userId, d.id)]));
}

/** `who`'s access to one device. */
export async function deviceAccess(ctx: AccessContext, who: Viewer, device: Device): Promise<DeviceAccess> {
  return (await devicesAccess(ctx, who, [device])).get(device.id)!;
}
