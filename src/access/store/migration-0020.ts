import { type Kysely, sql } from "kysely";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Published UDP ports: a job carries datagrams (one stream per source address and port) or
 * connections. Jobs from before this migration are TCP. A port stays unique across both
 * protocols, so `publish list` names one job per port. The same statements serve SQLite and
 * PostgreSQL.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable("published_ports")
    .addColumn("protocol", "text", (c) => c.notNull().defaultTo("tcp").check(sql`protocol in ('tcp', 'udp')`))
    .execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable("published_ports").dropColumn("protocol").execute();
}
