import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { StoreDialect } from "./store.js";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/**
 * Access control: account policy, user security state, groups, pools, access rules, API
 * tokens, login failures, password history and the audit hash chain.
 */
export async function up(db: AnyDb, dialect: StoreDialect): Promise<void> {
  const name = dialect === "postgres" ? sql`text collate "C"` : sql`text`;
  const big = dialect === "postgres" ? "bigint" : "integer";

  for (const [column, type, def] of [
    ["min_password_length", "integer", 12],
    ["password_history", "integer", 0],
    ["lockout_after", "integer", 5],
    ["require_otp", "integer", 0],
  ] as const) {
    await db.schema
      .alterTable("accounts")
      .addColumn(column, type, (c) => c.notNull().defaultTo(def))
      .execute();
  }
  await db.schema.alterTable("accounts").addColumn("max_password_age_days", "integer").execute();

  await db.schema.alterTable("users").addColumn("password_changed_at", "text").execute();
  await db.updateTable("users").set({ password_changed_at: sql`created_at` }).execute();
  await db.schema.alterTable("users").addColumn("locked_until", "text").execute();
  await db.schema.alterTable("users").addColumn("totp_secret", "text").execute();
  await db.schema
    .alterTable("users")
    .addColumn("totp_enabled", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("users").addColumn("totp_last_step", big).execute();

  await db.schema
    .createTable("password_history")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("password_history_user_idx").on("password_history").column("user_id").execute();

  // By name, not id: failures for users that do not exist count against the source too.
  await db.schema
    .createTable("login_failures")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_name", "text", (c) => c.notNull())
    .addColumn("user_name", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("login_failures_user_idx").on("login_failures").columns(["account_name", "user_name", "at"]).execute();
  await db.schema.createIndex("login_failures_source_idx").on("login_failures").columns(["source", "at"]).execute();

  for (const table of ["groups", "pools"]) {
    await db.schema
      .createTable(table)
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
      .addColumn("name", name, (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addUniqueConstraint(`${table}_account_id_name_key`, ["account_id", "name"])
      .execute();
  }
  await db.schema
    .createTable("group_members")
    .addColumn("group_id", "text", (c) => c.notNull().references("groups.id").onDelete("cascade"))
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("group_members_pkey", ["group_id", "user_id"])
    .execute();
  await db.schema
    .createTable("pool_devices")
    .addColumn("pool_id", "text", (c) => c.notNull().references("pools.id").onDelete("cascade"))
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    .addPrimaryKeyConstraint("pool_devices_pkey", ["pool_id", "device_id"])
    .execute();
  await db.schema
    .createTable("access_rules")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("group_id", "text", (c) => c.notNull().references("groups.id").onDelete("cascade"))
    .addColumn("pool_id", "text", (c) => c.notNull().references("pools.id").onDelete("cascade"))
    .addColumn("level", "text", (c) => c.notNull().check(sql`level in ('view', 'connect')`))
    // JSON array of "host[:port,port…]" filters, or null for the devices' LAN ranges.
    .addColumn("targets", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addUniqueConstraint("access_rules_group_pool_key", ["group_id", "pool_id"])
    .execute();

  await db.schema
    .createTable("api_tokens")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("name", name, (c) => c.notNull())
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("role", "text", (c) => c.notNull().check(sql`role in ('admin', 'member')`))
    .addColumn("created_by", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text")
    .addColumn("revoked_at", "text")
    .addUniqueConstraint("api_tokens_account_id_name_key", ["account_id", "name"])
    .execute();

  // The audit becomes an append-only chain: each record's hash covers the previous one.
  await db.schema.alterTable("audit").addColumn("prev_hash", "text").execute();
  await db.schema.alterTable("audit").addColumn("hash", "text").execute();
  await db.schema.alterTable("audit").addColumn("started_at", "text").execute();
  await db.schema
    .createTable("audit_heads")
    .addColumn("chain", "text", (c) => c.primaryKey())
    .addColumn("seq", big, (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull())
    .addColumn("count", big, (c) => c.notNull())
    .execute();
}

/** Undoes `up` (tables only; SQLite keeps added columns). */
export async function down(db: AnyDb): Promise<void> {
  for (const table of ["audit_heads", "api_tokens", "access_rules", "pool_devices", "pools", "group_members", "groups", "login_failures", "password_history"]) {
    await db.schema.dropTable(table).execute();
  }
}
