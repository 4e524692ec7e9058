import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { byNaturalName } from "../../shared/natural-order.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, Pool } from "./schema.js";
import { type Instant, iso } from "./time.js";

/** Creates a pool of devices; "conflict" when the account already has one by that name. */
export async function createPool(db: Kysely<Database>, input: { accountId: string; name: string; now: Instant }): Promise<Pool> {
  const pool: Pool = { id: randomUUID(), account_id: input.accountId, name: input.name, created_at: iso(input.now) };
  try {
    await db.insertInto("pools").values(pool).execute();
  } catch (err) {
    if (constraintViolation(err) === "unique") throw new FernlinkError("conflict", `pool "${input.name}" already exists`, { cause: err });
    throw err;
  }
  return pool;
}

/** The account's pool called `name`, if any. */
export function findPoolByName(db: Kysely<Database>, accountId: string, name: string): Promise<Pool | undefined> {
  return db.selectFrom("pools").selectAll().where("account_id", "=", accountId).where("name", "=", name).executeTakeFirst();
}

/** The account's pools, ordered by name. */
export function listPools(db: Kysely<Database>, accountId: string): Promise<Pool[]> {
  return db.selectFrom("pools").selectAll().where("account_id", "=", accountId).execute().then(byNaturalName);
}

/** Device names per pool id, for the account's pools. */
export async function poolDeviceNames(db: Kysely<Database>, accountId: string): Promise<Map<string, string[]>> {
  const rows = await db
    .selectFrom("pool_devices")
    .innerJoin("pools", "pools.id", "pool_devices.pool_id")
    .innerJoin("devices", "devices.id", "pool_devices.device_id")
    .select(["pool_devices.pool_id as poolId", "devices.name as deviceName"])
    .where("pools.account_id", "=", accountId)
    .orderBy("devices.name")
    .execute();
  const byPool = new Map<string, string[]>();
  for (const row of rows) byPool.set(row.poolId, [...(byPool.get(row.poolId) ?? []), row.deviceName]);
  return byPool;
}

/** Pool names per device id, for the account's devices that are in a pool (names in order). */
export async function devicePoolNames(db: Kysely<Database>, accountId: string, deviceId?: string): Promise<Map<string, string[]>> {
  let query = db
    .selectFrom("pool_devices")
    .innerJoin("pools", "pools.id", "pool_devices.pool_id")
    .select(["pool_devices.device_id as deviceId", "pools.name as poolName"])
    .where("pools.account_id", "=", accountId);
  if (deviceId !== undefined) query = query.where("pool_devices.device_id", "=", deviceId);
  const byDevice = new Map<string, string[]>();
  for (const row of await query.orderBy("pools.name").execute()) byDevice.set(row.deviceId, [...(byDevice.get(row.deviceId) ?? []), row.poolName]);
  return byDevice;
}

/** Deletes a pool; its device list and access rules go with it. Returns how many rules went. */
export async function removePool(db: Kysely<Database>, id: string): Promise<number> {
  const rules = await db
    .selectFrom("access_rules")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("pool_id", "=", id)
    .executeTakeFirstOrThrow();
  await db.deleteFrom("pools").where("id", "=", id).execute();
  return Number(rules.n);
}

/** Adds devices to a pool; devices already in it stay. Returns the ids that were added. */
export async function addPoolDevices(db: Kysely<Database>, poolId: string, deviceIds: readonly string[]): Promise<string[]> {
  const added: string[] = [];
  for (const deviceId of new Set(deviceIds)) {
    const result = await db
      .insertInto("pool_devices")
      .values({ pool_id: poolId, device_id: deviceId })
      .onConflict((oc) => oc.columns(["pool_id", "device_id"]).doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0n) > 0) added.push(deviceId);
  }
  return added;
}

/** Takes devices out of a pool; returns the ids that were in it. */
export async function removePoolDevices(db: Kysely<Database>, poolId: string, deviceIds: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const deviceId of new Set(deviceIds)) {
    const result = await db.deleteFrom("pool_devices").where("pool_id", "=", poolId).where("device_id", "=", deviceId).executeTakeFirst();
    if (result.numDeletedRows > 0n) removed.push(deviceId);
  }
  return removed;
}
