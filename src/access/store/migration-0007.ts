import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Keys every node of a cluster must share (the CA's certificate and key, the audit key, the
 * secret box key, and a known value that tells a wrong cluster key apart), each sealed with
 * the cluster key and bound to its `name`. `key_file` says where the node that sealed it
 * wrote the cluster key, so a node without it can say which file to copy. Only PostgreSQL
 * installations use the table; on SQLite the keys stay in the data directory.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable("cluster_keys")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("sealed", "text", (c) => c.notNull())
    .addColumn("key_file", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("cluster_keys").execute();
}
