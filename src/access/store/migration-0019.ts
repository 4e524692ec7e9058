import type { Kysely } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Connect reasons and recorded targets. An account whose policy sets `require_reason` refuses
 * streams and portal sessions that come without a reason (the reason itself is kept in the
 * stream's audit records). A device's `recorded_targets` (space-separated `host:port`, null:
 * none) names the targets whose streams the relay keeps the bytes of; it sits on the device
 * row so the stream cache, which already holds that row, answers without a query. A portal
 * launch code and the HMI grant it becomes carry the reason given when the HMI was opened, for
 * every stream the HMI's pages open. The same
 * statements serve SQLite and PostgreSQL.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable("accounts")
    .addColumn("require_reason", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("devices").addColumn("recorded_targets", "text").execute();
  await db.schema.alterTable("web_grants").addColumn("reason", "text").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable("web_grants").dropColumn("reason").execute();
  await db.schema.alterTable("devices").dropColumn("recorded_targets").execute();
  await db.schema.alterTable("accounts").dropColumn("require_reason").execute();
}
