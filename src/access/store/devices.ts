import { randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { byNaturalName } from "../../shared/natural-order.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, Device } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** Registers a device; "conflict" when the account already has one by that name. */
export async function createDevice(db: Kysely<Database>, input: { accountId: string; name: string; lan: string[]; now: Instant }): Promise<Device> {
  const device: Device = {
    id: randomUUID(),
    account_id: input.accountId,
    name: input.name,
    lan: JSON.stringify(input.lan),
    created_at: iso(input.now),
    last_seen: null,
    last_address: null,
    relay_id: null,
    cert_serial: null,
    agent_publish_by: null,
    switch_state: null,
    switch_at: null,
    recorded_targets: null,
  };
  try {
    await db.insertInto("devices").values(device).execute();
  } catch (err) {
    const violation = constraintViolation(err);
    if (violation === "unique") {
      throw new FernlinkError("conflict", `device "${input.name}" already exists`, { cause: err });
    }
    if (violation === "foreign-key") {
      throw new FernlinkError("not-found", "account not found", { cause: err });
    }
    throw err;
  }
  return device;
}

/** The account's devices, in natural name order (press-7 before press-10). */
export function listDevices(db: Kysely<Database>, accountId: string): Promise<Device[]> {
  return db.selectFrom("devices").selectAll().where("account_id", "=", accountId).execute().then(byNaturalName);
}

/** The account's device called `name`, if any; names compare regardless of case. */
export function findDeviceByName(db: Kysely<Database>, accountId: string, name: string): Promise<Device | undefined> {
  return db.selectFrom("devices").selectAll().where("account_id", "=", accountId).where(sql<string>`lower(name)`, "=", name.toLowerCase()).executeTakeFirst();
}

/** The device with this id, if any. */
export function getDevice(db: Kysely<Database>, id: string): Promise<Device | undefined> {
  return db.selectFrom("devices").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Deletes the device and its activation keys (its certificates stay); false if it was absent. */
export async function removeDevice(db: Kysely<Database>, id: string): Promise<boolean> {
  const result = await db.deleteFrom("devices").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Records where and when the device's agent last connected. */
export async function markDeviceSeen(db: Kysely<Database>, id: string, seen: { at: Instant; address: string | null; relayId: string | null }): Promise<void> {
  await db
    .updateTable("devices")
    .set({ last_seen: iso(seen.at), last_address: seen.address, relay_id: seen.relayId })
    .where("id", "=", id)
    .execute();
}

/**
 * Records that the device's tunnel on relay `relay` (its name, as `markDeviceSeen` wrote it) was
 * last known up at `at`, unless the row names another relay: the device came back there first.
 * Returns whether the row was changed.
 */
export async function markDeviceGone(db: Kysely<Database>, id: string, gone: { at: Instant; relay: string }): Promise<boolean> {
  const result = await db
    .updateTable("devices")
    .set({ last_seen: iso(gone.at) })
    .where("id", "=", id)
    .where((eb) => eb.or([eb("relay_id", "=", gone.relay), eb("relay_id", "is", null)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Sets (or clears, with null) the serial of the device's one valid certificate. */
export async function setDeviceCertificate(db: Kysely<Database>, id: string, serial: string | null): Promise<void> {
  await db.updateTable("devices").set({ cert_serial: serial }).where("id", "=", id).execute();
}

/** The device's LAN CIDRs, parsed from their stored JSON. */
export function deviceLan(device: Pick<Device, "lan">): string[] {
  const value: unknown = JSON.parse(device.lan);
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === "string")) {
    throw new Error(`stored LAN list is not a JSON array of strings: ${device.lan}`);
  }
  return value;
}

/** Lets the device's agent ask for published ports with `userId`'s rights, or (null) stops it. */
export async function setAgentPublish(db: Kysely<Database>, id: string, userId: string | null): Promise<void> {
  await db.updateTable("devices").set({ agent_publish_by: userId }).where("id", "=", id).execute();
}

/** Sets the device's recorded targets (space-separated `host:port`; none: null). */
export async function setRecordedTargets(db: Kysely<Database>, id: string, targets: readonly string[]): Promise<void> {
  await db
    .updateTable("devices")
    .set({ recorded_targets: targets.length > 0 ? targets.join(" ") : null })
    .where("id", "=", id)
    .execute();
}

/** Stores the key switch position the device's agent reported. */
export async function setDeviceSwitch(db: Kysely<Database>, id: string, report: { state: string; at: Instant }): Promise<void> {
  await db
    .updateTable("devices")
    .set({ switch_state: report.state, switch_at: iso(report.at) })
    .where("id", "=", id)
    .execute();
}
