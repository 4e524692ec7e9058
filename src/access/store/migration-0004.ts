import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Login attempts are counted before their password check: a `login_failures` row is written
 * with `pending` = 1 when the check starts, and is settled (0) when it fails or removed when it
 * succeeds. Rows from before this migration are settled failures.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable("login_failures")
    .addColumn("pending", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.deleteFrom("login_failures").where("pending", "=", 1).execute();
  await db.schema.alterTable("login_failures").dropColumn("pending").execute();
}
