import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * The API token an audited action was taken with (its name, never the token): `actor` stays
 * the user the token acts for, so filtering by user still finds it. Existing records get null,
 * which their hashes were written without, so they verify unchanged.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable("audit").addColumn("token", "text").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable("audit").dropColumn("token").execute();
}
