import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * The relays of the service: registered relays (`fernlink relay add`, one-time key stored
 * hashed, then the serial of the relay certificate it was given) and the embedded relays of
 * running access nodes (kind "node", deleted a minute after their node stopped renewing them).
 * The node holding a relay's link writes its load and heartbeat; a heartbeat older than 15 s
 * reads as offline.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable("relays")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("region", "text")
    .addColumn("url", "text")
    .addColumn("key_hash", "text")
    .addColumn("key_expires_at", "text")
    .addColumn("cert_serial", "text")
    .addColumn("draining_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("heartbeat_at", "text")
    .addColumn("devices", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("streams", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("bytes_up", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("bytes_down", "bigint", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex("relays_key_hash_idx").on("relays").column("key_hash").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("relays").execute();
}
