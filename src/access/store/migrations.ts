import type { Kysely, Migration, MigrationProvider } from "kysely";
import { Migrator, sql } from "kysely";
import * as accessControl from "./migration-0002.js";
import * as webTargets from "./migration-0003.js";
import * as pendingLogins from "./migration-0004.js";
import * as auditPerAccount from "./migration-0005.js";
import * as auditToken from "./migration-0006.js";
import * as clusterKeys from "./migration-0007.js";
import * as webGrants from "./migration-0008.js";
import * as liveTunnels from "./migration-0009.js";
import * as relays from "./migration-0010.js";
import * as liveStreams from "./migration-0011.js";
import * as deviceNameCase from "./migration-0012.js";
import * as publishedPorts from "./migration-0013.js";
import * as deviceSwitch from "./migration-0014.js";
import * as deviceCheckIns from "./migration-0015.js";
import * as notifications from "./migration-0016.js";
import * as operator from "./migration-0017.js";
import * as adminControls from "./migration-0018.js";
import * as reasonRecording from "./migration-0019.js";
import * as publishedUdp from "./migration-0020.js";
import type { StoreDialect } from "./store.js";

// Migrations get an untyped database: the tables they create are not yet in `Database`.
type AnyDb = Kysely<any>;

/** Builds the migrations for one dialect; they are in code so dist/ needs no migration folder. */
function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    "0001_core": {
      up: (db) => createCore(db, dialect),
      down: dropCore,
    },
    "0002_access_control": {
      up: (db) => accessControl.up(db, dialect),
      down: accessControl.down,
    },
    "0003_web_targets": {
      up: (db) => webTargets.up(db, dialect),
      down: webTargets.down,
    },
    "0004_pending_logins": {
      up: pendingLogins.up,
      down: pendingLogins.down,
    },
    "0005_audit_per_account": {
      up: (db) => auditPerAccount.up(db, dialect),
      down: auditPerAccount.down,
    },
    "0006_audit_token": {
      up: auditToken.up,
      down: auditToken.down,
    },
    "0007_cluster_keys": {
      up: clusterKeys.up,
      down: clusterKeys.down,
    },
    "0008_web_grants": {
      up: (db) => webGrants.up(db, dialect),
      down: webGrants.down,
    },
    "0009_live_tunnels": {
      up: liveTunnels.up,
      down: liveTunnels.down,
    },
    "0010_relays": {
      up: relays.up,
      down: relays.down,
    },
    "0011_live_streams": {
      up: liveStreams.up,
      down: liveStreams.down,
    },
    "0012_device_name_case": {
      up: deviceNameCase.up,
      down: deviceNameCase.down,
    },
    "0013_published_ports": {
      up: (db) => publishedPorts.up(db, dialect),
      down: publishedPorts.down,
    },
    "0014_device_switch": {
      up: deviceSwitch.up,
      down: deviceSwitch.down,
    },
    "0015_device_check_ins": {
      up: deviceCheckIns.up,
      down: deviceCheckIns.down,
    },
    "0016_notifications": {
      up: (db) => notifications.up(db, dialect),
      down: notifications.down,
    },
    "0017_operator": {
      up: operator.up,
      down: operator.down,
    },
    "0018_admin_controls": {
      up: adminControls.up,
      down: adminControls.down,
    },
    "0019_reason_recording": {
      up: reasonRecording.up,
      down: reasonRecording.down,
    },
    "0020_published_udp": {
      up: publishedUdp.up,
      down: publishedUdp.down,
    },
  };
}

/** Migration provider serving the in-code migrations for `dialect`. */
export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}

/**
 * Applies every pending migration. On PostgreSQL `schema` must name the schema the tables live
 * in: without it Kysely's existence check finds `kysely_migration` in *any* schema of the
 * database and then skips creating its own.
 */
export async function migrateToLatest(db: AnyDb, dialect: StoreDialect, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: migrationProvider(dialect),
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "setup";
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`database migration ${failed} failed: ${detail}`, { cause: error });
  }
}

async function createCore(db: AnyDb, dialect: StoreDialect): Promise<void> {
  // PostgreSQL would otherwise order and compare names by the server locale; "C" matches SQLite.
  const name = dialect === "postgres" ? sql`text collate "C"` : sql`text`;

  await db.schema
    .createTable("accounts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", name, (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("name", name, (c) => c.notNull())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull().check(sql`role in ('admin', 'member')`))
    .addColumn("created_at", "text", (c) => c.notNull())
    .addUniqueConstraint("users_account_id_name_key", ["account_id", "name"])
    .execute();

  await db.schema
    .createTable("sessions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema.createIndex("sessions_user_id_idx").on("sessions").column("user_id").execute();

  await db.schema
    .createTable("devices")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("name", name, (c) => c.notNull())
    .addColumn("lan", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_seen", "text")
    .addColumn("last_address", "text")
    .addColumn("relay_id", "text")
    .addColumn("cert_serial", "text")
    .addUniqueConstraint("devices_account_id_name_key", ["account_id", "name"])
    .execute();

  await db.schema
    .createTable("activation_keys")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("device_id", "text", (c) => c.notNull().references("devices.id").onDelete("cascade"))
    .addColumn("key_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .execute();
  await db.schema.createIndex("activation_keys_device_id_idx").on("activation_keys").column("device_id").execute();

  // No foreign key to devices: a revocation must outlive the device it revoked.
  await db.schema
    .createTable("certificates")
    .addColumn("serial", "text", (c) => c.primaryKey())
    .addColumn("device_id", "text", (c) => c.notNull())
    .addColumn("issued_at", "text", (c) => c.notNull())
    .addColumn("not_after", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema.createIndex("certificates_device_id_idx").on("certificates").column("device_id").execute();

  await db.schema
    .createTable("audit")
    .addColumn("seq", dialect === "postgres" ? "bigserial" : "integer", (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn("id", "text", (c) => c.notNull().unique())
    .addColumn("at", "text", (c) => c.notNull())
    .addColumn("account_id", "text")
    .addColumn("actor", "text")
    .addColumn("source", "text")
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("object", "text")
    .addColumn("result", "text", (c) => c.notNull().check(sql`result in ('ok', 'denied', 'error')`))
    .addColumn("reason", "text")
    .addColumn("device", "text")
    .addColumn("target", "text")
    .addColumn("ended_at", "text")
    .addColumn("bytes_up", "bigint")
    .addColumn("bytes_down", "bigint")
    .execute();
  await db.schema.createIndex("audit_account_id_seq_idx").on("audit").columns(["account_id", "seq"]).execute();
}

async function dropCore(db: AnyDb): Promise<void> {
  for (const table of ["audit", "certificates", "activation_keys", "devices", "sessions", "users", "accounts"]) {
    await db.schema.dropTable(table).execute();
  }
}
