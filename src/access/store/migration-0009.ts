import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Presence shared by the nodes of a cluster: one row per connected device tunnel (which
 * relay holds it, from which address, since when), refreshed by its relay's heartbeat. A
 * row whose heartbeat is old belongs to a relay that died without a word and reads as
 * offline. A removed device takes its row with it.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable("live_tunnels")
    .addColumn("device_id", "text", (c) => c.primaryKey().references("devices.id").onDelete("cascade"))
    .addColumn("relay_id", "text", (c) => c.notNull())
    .addColumn("address", "text", (c) => c.notNull())
    .addColumn("since", "text", (c) => c.notNull())
    .addColumn("heartbeat_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("live_tunnels_relay_id_idx").on("live_tunnels").column("relay_id").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("live_tunnels").execute();
}
