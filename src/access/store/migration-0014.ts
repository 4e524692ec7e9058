import { type Kysely, sql } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * The machine owner's key switch as each device's agent last reported it, so lists can say
 * why a device is offline ("switched off") or refuses every stream. The same statements
 * serve SQLite and PostgreSQL: nullable text columns with a check.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable("devices")
    .addColumn("switch_state", "text", (c) => c.check(sql`switch_state in ('off', 'online', 'remote')`))
    .execute();
  await db.schema.alterTable("devices").addColumn("switch_at", "text").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable("devices").dropColumn("switch_at").execute();
  await db.schema.alterTable("devices").dropColumn("switch_state").execute();
}
