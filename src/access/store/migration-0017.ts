import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * The service operator, above accounts. An operator can disable an account (`fernlink operator
 * account disable`): while `disabled_at` is set, its users cannot log in, its sessions and API
 * tokens are refused and its devices' tunnels are refused. Operator tokens
 * (`fernlink operator token add`) let an operator do the same remotely over
 * `/api/v1/operator/…`; only their hashes are stored. The same statements serve SQLite and
 * PostgreSQL.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable("accounts").addColumn("disabled_at", "text").execute();
  await db.schema
    .createTable("operator_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull().unique())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("operator_tokens").execute();
  await db.schema.alterTable("accounts").dropColumn("disabled_at").execute();
}
