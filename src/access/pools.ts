import type { MembershipChange, PoolInfo, RemovedReply } from "../protocol/api-access.js";
import { FernlinkError } from "../protocol/errors.js";
import { accessChanged } from "./access-changes.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { revalidateStreams } from "./live-streams.js";
import { ensureAdmin } from "./roles.js";
import { findDeviceByName } from "./store/devices.js";
import { addPoolDevices, createPool, findPoolByName, listPools, poolDeviceNames, removePool, removePoolDevices } from "./store/pools.js";
import type { Pool } from "./store/schema.js";

/** The account's pool called `name`; another account's pool reads as missing. */
export async function poolByName(ctx: AccessContext, who: Pick<Principal, "accountId">, name: string): Promise<Pool> {
  const pool = await findPoolByName(ctx.db, who.accountId, name);
  if (!pool) throw new FernlinkError("not-found", `no such pool "${name}"; see: fernlink pool list`);
  return pool;
}

async function poolInfo(ctx: AccessContext, accountId: string, pool: Pool): Promise<PoolInfo> {
  return { name: pool.name, devices: (await poolDeviceNames(ctx.db, accountId)).get(pool.id) ?? [], createdAt: pool.created_at };
}

/** The account's pools with their devices (admins only). */
export async function listAccountPools(ctx: AccessContext, who: Principal): Promise<PoolInfo[]> {
  await ensureAdmin(ctx, who, "pool.list", "pools");
  const [pools, devices] = await Promise.all([listPools(ctx.db, who.accountId), poolDeviceNames(ctx.db, who.accountId)]);
  return pools.map((p) => ({ name: p.name, devices: devices.get(p.id) ?? [], createdAt: p.created_at }));
}

/** One pool with its devices (admins only). */
export async function showPool(ctx: AccessContext, who: Principal, name: string): Promise<PoolInfo> {
  await ensureAdmin(ctx, who, "pool.show", name);
  return poolInfo(ctx, who.accountId, await poolByName(ctx, who, name));
}

/** Creates an empty pool. */
export async function addPool(ctx: AccessContext, who: Principal, name: string): Promise<PoolInfo> {
  await ensureAdmin(ctx, who, "pool.add", name);
  const pool = await createPool(ctx.db, { accountId: who.accountId, name, now: ctx.now() });
  await auditBy(ctx, who, "pool.add", name);
  return { name: pool.name, devices: [], createdAt: pool.created_at };
}

/** Removes a pool with its access rules; streams that relied on them end. */
export async function removeAccountPool(ctx: AccessContext, who: Principal, name: string): Promise<RemovedReply> {
  await ensureAdmin(ctx, who, "pool.remove", name);
  const pool = await poolByName(ctx, who, name);
  const rulesRemoved = await ctx.db.transaction().execute((trx) => removePool(trx, pool.id));
  await accessChanged(ctx, who.accountId);
  await revalidateStreams(ctx, who.accountId);
  await auditBy(ctx, who, "pool.remove", rulesRemoved > 0 ? `${name} (with ${rulesRemoved} access rules)` : name);
  return { ok: true, rulesRemoved };
}

/** Adds and removes devices in one change; every name must be a device of the account. */
export async function changePoolDevices(ctx: AccessContext, who: Principal, name: string, change: MembershipChange): Promise<PoolInfo> {
  await ensureAdmin(ctx, who, "pool.devices", name);
  const pool = await poolByName(ctx, who, name);
  const lookup = async (names: string[]): Promise<Map<string, string>> =>
    new Map(
      await Promise.all(
        names.map(async (n) => {
          const device = await findDeviceByName(ctx.db, who.accountId, n);
          if (!device) throw new FernlinkError("not-found", `no such device "${n}"; see: fernlink device list`);
          return [device.id, n] as const;
        }),
      ),
    );
  const [add, remove] = [await lookup(change.add), await lookup(change.remove)];
  if ([...add.keys()].some((id) => remove.has(id))) throw new FernlinkError("invalid-input", "a device cannot be added and removed in the same change");
  const [added, removed] = await ctx.db
    .transaction()
    .execute(async (trx) => [await addPoolDevices(trx, pool.id, [...add.keys()]), await removePoolDevices(trx, pool.id, [...remove.keys()])]);
  if (added.length + removed.length > 0) await accessChanged(ctx, who.accountId);
  if (removed.length > 0) await revalidateStreams(ctx, who.accountId);
  if (added.length + removed.length > 0) {
    const summary = [...added.map((id) => `+${add.get(id)}`), ...removed.map((id) => `-${remove.get(id)}`)].join(" ");
    await auditBy(ctx, who, "pool.devices", `${name} ${summary}`);
  }
  return poolInfo(ctx, who.accountId, pool);
}
