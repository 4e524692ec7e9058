import { chmod } from "node:fs/promises";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { CompiledQuery, type DatabaseConnection, type Driver, Kysely, SqliteDialect, type SqliteDialectConfig, SqliteDriver } from "kysely";
import { ensureDataDir } from "../../shared/files.js";
import { type QueryObserver, queryLog } from "./query-timing.js";
import type { Database } from "./schema.js";
import { withStatementCache } from "./statement-cache.js";
import type { Store } from "./store.js";
import { DatabaseUnavailableError } from "./store.js";

/** Name of the database file inside the data directory. */
export const SQLITE_FILE = "fernlink.db";

/** Opens (creating if needed) `<dataDir>/fernlink.db`; the caller runs migrations. */
export async function openSqlite(dataDir: string, options: { onQuery?: QueryObserver | undefined } = {}): Promise<Store> {
  const file = join(dataDir, SQLITE_FILE);
  await ensureDataDir(dataDir);
  let database: BetterSqlite3.Database | undefined;
  try {
    database = new BetterSqlite3(file);
    // Password and token hashes live here: owner only. SQLite gives its -wal/-shm files the same mode.
    await chmod(file, 0o600);
    // WAL lets CLI readers run while the server writes; busy_timeout makes them wait, not fail.
    database.pragma("journal_mode = WAL");
    database.pragma("foreign_keys = ON");
    database.pragma("busy_timeout = 5000");
  } catch (err) {
    database?.close();
    const detail = err instanceof Error ? err.message : String(err);
    throw new DatabaseUnavailableError(
      `cannot open SQLite database ${file} (${detail}); check that the data directory is writable and the file is a Fernlink database`,
      { cause: err },
    );
  }
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(database) }), ...queryLog(options.onQuery) });
  return { db, dialect: "sqlite", close: () => db.destroy() };
}

/**
 * Kysely's SQLite dialect with every transaction begun `immediate`: it takes the write lock at
 * its start. A deferred `begin` that read and then writes fails at once with SQLITE_BUSY
 * ("database is locked", busy_timeout or not) when another process (the server beside a CLI
 * command) wrote in between; an immediate one makes the other writer wait instead.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}
