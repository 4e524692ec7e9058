import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { StoreDialect } from "./store.js";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Published ports (forward jobs): a port on the relay's host that forwards each connection from
 * a whitelisted source to a target in a device's LAN, with the rights of the user who made it.
 * A port is unique across accounts: it is one socket on the host. Devices get a switch that
 * lets their agent ask for its own jobs: null (the default) refuses, else it names the admin
 * who allowed it, whose rights the agent's jobs use.
 */
export async function up(db: AnyDb, dialect: StoreDialect): Promise<void> {
  const name = dialect === "postgres" ? sql`text collate "C"` : sql`text`;
  await db.schema
    .createTable("published_ports")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    // Whose rights each connection is opened with; the job goes with the user.
    .addColumn("owner_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("name", name, (c) => c.notNull())
    .addColumn("port", "integer", (c) => c.notNull().unique().check(sql`port between 1 and 65535`))
    .addColumn("target_host", "text", (c) => c.notNull())
    .addColumn("target_port", "integer", (c) => c.notNull().check(sql`target_port between 1 and 65535`))
    // Space-separated canonical CIDRs; empty means any source.
    .addColumn("allow_from", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull().check(sql`state in ('active', 'paused')`))
    .addColumn("log_data", "integer", (c) => c.notNull().defaultTo(0))
    // "service" (made through the API) or "agent" (asked for by the device's agent).
    .addColumn("origin", "text", (c) => c.notNull().defaultTo("service").check(sql`origin in ('service', 'agent')`))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addUniqueConstraint("published_ports_account_id_name_key", ["account_id", "name"])
    .execute();
  await db.schema.alterTable("devices").addColumn("agent_publish_by", "text").execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("published_ports").execute();
  await db.schema.alterTable("devices").dropColumn("agent_publish_by").execute();
}
