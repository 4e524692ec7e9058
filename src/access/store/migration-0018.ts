import { type Kysely, sql } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * What an admin controls besides roles: a lock only an admin lifts (`admin_locked_at`, apart
 * from `locked_until`, which failed logins set and which runs out by itself), and a password an
 * admin reset, which the user must change at the next login. Sessions note where they started
 * and whether a command line or the portal opened them, for `session list`; sessions from
 * before this migration have neither. The same statements serve SQLite and PostgreSQL.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable("users").addColumn("admin_locked_at", "text").execute();
  await db.schema
    .alterTable("users")
    .addColumn("must_change_password", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("sessions").addColumn("source", "text").execute();
  await db.schema
    .alterTable("sessions")
    .addColumn("kind", "text", (c) => c.check(sql`kind in ('cli', 'portal')`))
    .execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable("sessions").dropColumn("kind").execute();
  await db.schema.alterTable("sessions").dropColumn("source").execute();
  await db.schema.alterTable("users").dropColumn("must_change_password").execute();
  await db.schema.alterTable("users").dropColumn("admin_locked_at").execute();
}
