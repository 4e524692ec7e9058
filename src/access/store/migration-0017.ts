import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * An operator can disable an account (`fernlink operator account disable`): while
 * `disabled_at` is set, its users cannot log in, its sessions and API tokens are refused and
 * its devices' tunnels are refused. A nullable text column, the same on SQLite and PostgreSQL.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable("accounts").addColumn("disabled_at", "text").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable("accounts").dropColumn("disabled_at").execute();
}
