import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { StoreDialect } from "./store.js";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Notifications. An account's channels (e-mail, webhook, SMS gateway; the secret of each sealed
 * with the secret key), its rules (which event, on which device or all, after how long, to which
 * channel), and the delivery queue: one row per rule and event, unique on (rule, event key) so a
 * second node seeing the same event adds nothing, claimed by one node at a time and kept after
 * delivery as the account's record of what was sent.
 */
export async function up(db: AnyDb, dialect: StoreDialect): Promise<void> {
  const name = dialect === "postgres" ? sql`text collate "C"` : sql`text`;
  await db.schema
    .createTable("notify_channels")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("name", name, (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('email', 'webhook', 'sms')`))
    .addColumn("target", "text", (c) => c.notNull())
    .addColumn("config", "text", (c) => c.notNull())
    .addColumn("secret", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addUniqueConstraint("notify_channels_account_id_name_key", ["account_id", "name"])
    .execute();

  await db.schema
    .createTable("notify_rules")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("event", "text", (c) => c.notNull())
    .addColumn("channel_id", "text", (c) => c.notNull().references("notify_channels.id").onDelete("cascade"))
    .addColumn("device_id", "text", (c) => c.references("devices.id").onDelete("cascade"))
    .addColumn("delay_seconds", "integer", (c) => c.notNull())
    .addColumn("min_severity", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("notify_rules_account_id_idx").on("notify_rules").columns(["account_id", "event"]).execute();

  await db.schema
    .createTable("notifications")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("rule_id", "text", (c) => c.notNull().references("notify_rules.id").onDelete("cascade"))
    .addColumn("channel_id", "text", (c) => c.notNull().references("notify_channels.id").onDelete("cascade"))
    .addColumn("event", "text", (c) => c.notNull())
    .addColumn("event_key", "text", (c) => c.notNull())
    .addColumn("device_id", "text")
    .addColumn("device_name", "text")
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull().check(sql`state in ('queued', 'sending', 'sent', 'failed', 'cancelled')`))
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("due_at", "text", (c) => c.notNull())
    .addColumn("claimed_until", "text")
    .addColumn("last_error", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("done_at", "text")
    .addUniqueConstraint("notifications_rule_id_event_key_key", ["rule_id", "event_key"])
    .execute();
  await db.schema.createIndex("notifications_state_due_at_idx").on("notifications").columns(["state", "due_at"]).execute();
  await db.schema.createIndex("notifications_device_id_idx").on("notifications").columns(["device_id", "event"]).execute();
}

/** Undoes `up`. */
export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable("notifications").execute();
  await db.schema.dropTable("notify_rules").execute();
  await db.schema.dropTable("notify_channels").execute();
}
