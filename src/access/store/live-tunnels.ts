import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** A device tunnel some relay of the cluster holds, with the device's account and name. */
export interface LiveTunnelRow {
  deviceId: string;
  accountId: string;
  deviceName: string;
  relayId: string;
  address: string;
  since: string;
  heartbeatAt: string;
}

/** Records that `relayId` holds the device's tunnel now; a row of another relay is taken over. */
export async function putLiveTunnel(
  db: Kysely<Database>,
  tunnel: { deviceId: string; relayId: string; address: string; since: Instant; now: Instant },
): Promise<void> {
  const row = { device_id: tunnel.deviceId, relay_id: tunnel.relayId, address: tunnel.address, since: iso(tunnel.since), heartbeat_at: iso(tunnel.now) };
  await db
    .insertInto("live_tunnels")
    .values(row)
    .onConflict((oc) => oc.column("device_id").doUpdateSet({ relay_id: row.relay_id, address: row.address, since: row.since, heartbeat_at: row.heartbeat_at }))
    .execute();
}

/** Forgets the device's tunnel if `relayId` still holds it (it may have moved to another relay meanwhile). */
export async function dropLiveTunnel(db: Kysely<Database>, deviceId: string, relayId: string): Promise<void> {
  await db.deleteFrom("live_tunnels").where("device_id", "=", deviceId).where("relay_id", "=", relayId).execute();
}

/** Moves the heartbeat of every tunnel `relayId` holds to `now`; returns how many rows it has. */
export async function beatLiveTunnels(db: Kysely<Database>, relayId: string, now: Instant): Promise<number> {
  const result = await db
    .updateTable("live_tunnels")
    .set({ heartbeat_at: iso(now) })
    .where("relay_id", "=", relayId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** The relay holding each of these devices' tunnels, for those with a row. */
export async function liveTunnelRelays(db: Kysely<Database>, deviceIds: readonly string[]): Promise<Map<string, string>> {
  if (deviceIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("live_tunnels")
    .select(["device_id", "relay_id"])
    .where("device_id", "in", [...deviceIds])
    .execute();
  return new Map(rows.map((r) => [r.device_id, r.relay_id]));
}

/** Forgets every tunnel of `relayId` (the relay is shutting down). */
export async function dropRelayTunnels(db: Kysely<Database>, relayId: string): Promise<void> {
  await db.deleteFrom("live_tunnels").where("relay_id", "=", relayId).execute();
}

/** Deletes rows whose heartbeat is older than `before`: their relays died without a word. */
export async function pruneLiveTunnels(db: Kysely<Database>, before: Instant): Promise<number> {
  const result = await db.deleteFrom("live_tunnels").where("heartbeat_at", "<", iso(before)).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A tunnel row taken from a relay that stopped renewing it. */
export interface ClaimedTunnel {
  deviceId: string;
  relayId: string;
  address: string;
  /** The row's last heartbeat: the last moment the device was known to be connected. */
  heartbeatAt: string;
}

/**
 * Deletes the rows whose heartbeat is older than `before`, except those of `keep` (relays whose
 * rows the caller renews itself), and returns them. Each row goes to exactly one caller: a
 * concurrent claim blocks on the row and then finds it gone (PostgreSQL), or runs after (SQLite).
 */
export async function claimStaleTunnels(db: Kysely<Database>, before: Instant, keep: readonly string[] = []): Promise<ClaimedTunnel[]> {
  let query = db.deleteFrom("live_tunnels").where("heartbeat_at", "<", iso(before));
  if (keep.length > 0) query = query.where("relay_id", "not in", [...keep]);
  const rows = await query.returning(["device_id", "relay_id", "address", "heartbeat_at"]).execute();
  return rows.map((r) => ({ deviceId: r.device_id, relayId: r.relay_id, address: r.address, heartbeatAt: r.heartbeat_at }));
}

/** Every tunnel whose heartbeat is at `freshSince` or later, of one account or of all. */
export async function listLiveTunnels(db: Kysely<Database>, freshSince: Instant, accountId?: string): Promise<LiveTunnelRow[]> {
  let query = db
    .selectFrom("live_tunnels as t")
    .innerJoin("devices as d", "d.id", "t.device_id")
    .select(["t.device_id", "d.account_id", "d.name", "t.relay_id", "t.address", "t.since", "t.heartbeat_at"])
    .where("t.heartbeat_at", ">=", iso(freshSince));
  if (accountId !== undefined) query = query.where("d.account_id", "=", accountId);
  const rows = await query.orderBy("t.device_id").execute();
  return rows.map((r) => ({
    deviceId: r.device_id,
    accountId: r.account_id,
    deviceName: r.name,
    relayId: r.relay_id,
    address: r.address,
    since: r.since,
    heartbeatAt: r.heartbeat_at,
  }));
}
