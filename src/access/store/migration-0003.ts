import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { StoreDialect } from "./store.js";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/** Web targets: the HMI pages and VNC panels an admin publishes per device. */
export async function up(db: AnyDb, dialect: StoreDialect): Promise<void> {
  const name = dialect === "postgres" ? sql`text collate "C"` : sql`text`;
  await db.schema
    .createTable("web_targets")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    .addColumn("name", name, (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('http', 'https', 'vnc')`))
    .addColumn("host", "text", (c) => c.notNull())
    .addColumn("port", "integer", (c) => c.notNull().check(sql`port between 1 and 65535`))
    // The page to open first, for http(s) only.
    .addColumn("path", "text")
    // The VNC password sealed with DATA/secret-key (see secret-box.ts), never in clear.
    .addColumn("secret", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addUniqueConstraint("web_targets_device_id_name_key", ["device_id", "name"])
    .addCheckConstraint("web_targets_path_check", sql`(kind = 'vnc') = (path is null)`)
    .execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("web_targets").execute();
}
