import type { Kysely } from "kysely";
import type { NamedSetTables } from "./named-sets.js";
import type { Database } from "./schema.js";

/** Pools of devices: the pools table, linked to devices through pool_devices. */
export const POOL_TABLES: NamedSetTables = {
  noun: "pool",
  sets: "pools",
  ruleColumn: "pool_id",
  memberNames: (db, accountId) =>
    db
      .selectFrom("pool_devices")
      .innerJoin("pools", "pools.id", "pool_devices.pool_id")
      .innerJoin("devices", "devices.id", "pool_devices.device_id")
      .select(["pool_devices.pool_id as setId", "devices.name as memberName"])
      .where("pools.account_id", "=", accountId)
      .orderBy("devices.name")
      .execute(),
  link: async (db, setId, memberId) => {
    const result = await db
      .insertInto("pool_devices")
      .values({ pool_id: setId, device_id: memberId })
      .onConflict((oc) => oc.columns(["pool_id", "device_id"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  },
  unlink: async (db, setId, memberId) => {
    const result = await db.deleteFrom("pool_devices").where("pool_id", "=", setId).where("device_id", "=", memberId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  },
};

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
