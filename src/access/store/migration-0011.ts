import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Streams carried right now by each node of a cluster, for the live view of any node: each
 * node writes its streams with their byte counts every few seconds (one batch, never per
 * stream), and a row not renewed for 15 s is read as gone. The node holding a stream stays
 * the one that cuts it.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable("live_streams")
    .addColumn("stream_id", "text", (c) => c.primaryKey())
    .addColumn("node_id", "text", (c) => c.notNull())
    .addColumn("account_id", "text", (c) => c.notNull())
    .addColumn("user_id", "text", (c) => c.notNull())
    .addColumn("user_name", "text", (c) => c.notNull())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("device_name", "text", (c) => c.notNull())
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("started_at", "text", (c) => c.notNull())
    .addColumn("bytes_up", "bigint", (c) => c.notNull())
    .addColumn("bytes_down", "bigint", (c) => c.notNull())
    .addColumn("heartbeat_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("live_streams_node_id_idx").on("live_streams").column("node_id").execute();
  await db.schema.createIndex("live_streams_account_id_idx").on("live_streams").column("account_id").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("live_streams").execute();
}
