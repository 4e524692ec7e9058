import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { StoreDialect } from "./store.js";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * The portal's HMI launch codes and grants, in the store so that any access node serves any
 * HMI host. Codes and grants are kept as hashes; the session token they stand for is sealed
 * with the secret key. Removing a web target removes its codes and grants.
 */
export async function up(db: AnyDb, dialect: StoreDialect): Promise<void> {
  await db.schema
    .createTable("web_grants")
    .addColumn("seq", dialect === "postgres" ? "bigserial" : "integer", (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('launch', 'grant')`))
    .addColumn("session_hash", "text", (c) => c.notNull())
    .addColumn("session_token", "text", (c) => c.notNull())
    .addColumn("target_id", "text", (c) => c.notNull().references("web_targets.id").onDelete("cascade"))
    .addColumn("path", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("web_grants_session_idx").on("web_grants").columns(["session_hash", "kind", "seq"]).execute();
  await db.schema.createIndex("web_grants_expiry_idx").on("web_grants").columns(["kind", "expires_at"]).execute();
  await db.schema.createIndex("web_grants_target_idx").on("web_grants").column("target_id").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("web_grants").execute();
}
