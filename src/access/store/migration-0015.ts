import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * On-demand devices hold no tunnel: their agent checks in every few minutes and connects when
 * someone asked for it. One row per device that ever checked in: its interval (so a waiting
 * user can be told when the next check-in is due), its last check-in, and until when it is
 * wanted (a user's `connect`, or a published port, asked for it). A removed device takes its
 * row with it.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable("device_check_ins")
    .addColumn("device_id", "text", (c) => c.primaryKey().references("devices.id").onDelete("cascade"))
    .addColumn("interval_seconds", "integer", (c) => c.notNull())
    .addColumn("checked_in_at", "text", (c) => c.notNull())
    .addColumn("wanted_until", "text")
    .execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("device_check_ins").execute();
}
