import type { Kysely, Selectable } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { byNaturalName } from "../../shared/natural-order.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, RelaysTable } from "./schema.js";
import { type Instant, iso } from "./time.js";

export type RelayRow = Selectable<RelaysTable>;

/** Adds a relay that may register once with the key hashed as `keyHash`. */
export async function addRelay(
  db: Kysely<Database>,
  input: { id: string; name: string; region: string | null; keyHash: string; keyExpiresAt: Instant; now: Instant },
): Promise<void> {
  try {
    await db
      .insertInto("relays")
      .values({
        id: input.id,
        name: input.name,
        kind: "relay",
        region: input.region,
        url: null,
        key_hash: input.keyHash,
        key_expires_at: iso(input.keyExpiresAt),
        cert_serial: null,
        draining_at: null,
        created_at: iso(input.now),
        heartbeat_at: null,
        devices: 0,
        streams: 0,
        bytes_up: 0,
        bytes_down: 0,
      })
      .execute();
  } catch (err) {
    if (constraintViolation(err) === "unique")
      throw new FernlinkError("conflict", `a relay named "${input.name}" exists; remove it first or choose another name`, { cause: err });
    throw err;
  }
}

/** The relay whose unused key hashes to `keyHash`, or why there is none. */
export async function relayOfKey(db: Kysely<Database>, keyHash: string, now: Instant): Promise<RelayRow | "unknown" | "expired"> {
  const row = await db.selectFrom("relays").selectAll().where("key_hash", "=", keyHash).executeTakeFirst();
  if (!row) return "unknown";
  if (row.key_expires_at === null || row.key_expires_at <= iso(now)) return "expired";
  return row;
}

/** Marks the key used and records the certificate the relay got; false when the key was used meanwhile. */
export async function setRelayCertificate(
  db: Kysely<Database>,
  input: { id: string; keyHash: string; serial: string; url: string; region: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable("relays")
    .set({ key_hash: null, key_expires_at: null, cert_serial: input.serial, url: input.url, region: input.region })
    .where("id", "=", input.id)
    .where("key_hash", "=", input.keyHash)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function findRelay(db: Kysely<Database>, id: string): Promise<RelayRow | undefined> {
  return db.selectFrom("relays").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function findRelayByName(db: Kysely<Database>, name: string): Promise<RelayRow | undefined> {
  return db.selectFrom("relays").selectAll().where("name", "=", name).executeTakeFirst();
}

/** Every relay, by name. */
export async function listRelays(db: Kysely<Database>): Promise<RelayRow[]> {
  return db.selectFrom("relays").selectAll().execute().then(byNaturalName);
}

/** Records a running node's embedded relay (or renews it). */
export async function putNodeRelay(db: Kysely<Database>, input: { id: string; name: string; url: string; region: string | null; now: Instant }): Promise<void> {
  const now = iso(input.now);
  await db
    .insertInto("relays")
    .values({
      id: input.id,
      name: input.name,
      kind: "node",
      region: input.region,
      url: input.url,
      key_hash: null,
      key_expires_at: null,
      cert_serial: null,
      draining_at: null,
      created_at: now,
      heartbeat_at: now,
      devices: 0,
      streams: 0,
      bytes_up: 0,
      bytes_down: 0,
    })
    .onConflict((oc) => oc.column("id").doUpdateSet({ url: input.url, region: input.region, heartbeat_at: now }))
    .execute();
}

/** The heartbeat of a relay's link (or of a node's own relay), with its load. */
export async function beatRelay(
  db: Kysely<Database>,
  id: string,
  load: { now: Instant; url?: string; region?: string | null; devices: number; streams: number; bytesUp: number; bytesDown: number },
): Promise<void> {
  await db
    .updateTable("relays")
    .set({
      heartbeat_at: iso(load.now),
      devices: load.devices,
      streams: load.streams,
      bytes_up: load.bytesUp,
      bytes_down: load.bytesDown,
      ...(load.url !== undefined ? { url: load.url } : {}),
      ...(load.region !== undefined ? { region: load.region } : {}),
    })
    .where("id", "=", id)
    .execute();
}

/** The relay's link ended: it reads as offline at once rather than after the heartbeat expires. */
export async function relayGone(db: Kysely<Database>, id: string): Promise<void> {
  await db.updateTable("relays").set({ heartbeat_at: null }).where("id", "=", id).execute();
}

/** Starts draining a relay; false when there is no such relay. */
export async function drainRelay(db: Kysely<Database>, name: string, at: Instant): Promise<boolean> {
  const result = await db
    .updateTable("relays")
    .set({ draining_at: iso(at) })
    .where("name", "=", name)
    .where("draining_at", "is", null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1 || (await findRelayByName(db, name)) !== undefined;
}

/** Removes a relay: its certificate is refused from now on. */
export async function removeRelay(db: Kysely<Database>, name: string): Promise<RelayRow | undefined> {
  const row = await findRelayByName(db, name);
  if (row) await db.deleteFrom("relays").where("id", "=", row.id).execute();
  return row;
}

/** Deletes embedded relays of nodes that stopped renewing them before `before`. */
export async function pruneNodeRelays(db: Kysely<Database>, before: Instant): Promise<void> {
  await db
    .deleteFrom("relays")
    .where("kind", "=", "node")
    .where((eb) => eb.or([eb("heartbeat_at", "<", iso(before)), eb("heartbeat_at", "is", null)]))
    .execute();
}
