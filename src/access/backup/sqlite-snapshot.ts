import BetterSqlite3 from "better-sqlite3";
import { BackupError } from "./manifest.js";

/** Largest step the backup API takes: every page at once. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies the SQLite database at `source` to `dest` with SQLite's online backup API, while the
 * server may be writing to it. All pages are copied in one step, which holds one read
 * transaction (WAL lets the server go on writing), so the copy is one consistent moment and
 * a write in between cannot make it start over and over. Returns the copy's last migration.
 */
export async function snapshotSqlite(source: string, dest: string): Promise<{ migration: string }> {
  let db: BetterSqlite3.Database;
  try {
    db = new BetterSqlite3(source, { fileMustExist: true });
  } catch (err) {
    throw new BackupError("backup-source-missing", `cannot open the database ${source} (${(err as Error).message}); is --data the server's data directory?`, {
      cause: err,
    });
  }
  try {
    db.pragma("busy_timeout = 10000");
    await db.backup(dest, { progress: () => ALL_PAGES });
  } finally {
    db.close();
  }
  return checkSnapshot(dest);
}

/**
 * Checks a database copy (SQLite's quick_check) and turns it into a file of its own (rollback
 * journal, so no -wal file belongs to it); returns its last migration.
 */
export function checkSnapshot(file: string): { migration: string } {
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.pragma("journal_mode = DELETE");
    const check = db.pragma("quick_check", { simple: true });
    if (check !== "ok") throw new BackupError("backup-damaged", `the database copy ${file} fails SQLite's check (${String(check)})`);
    return { migration: lastMigration(db, file) };
  } finally {
    db.close();
  }
}

/** The newest migration applied to a Fernlink database (Kysely's bookkeeping table). */
function lastMigration(db: BetterSqlite3.Database, file: string): string {
  let row: { name: string } | undefined;
  try {
    row = db.prepare("select name from kysely_migration order by name desc limit 1").get() as { name: string } | undefined;
  } catch (err) {
    throw new BackupError("backup-source-missing", `${file} is not a Fernlink database (no migrations table)`, { cause: err });
  }
  if (row === undefined) throw new BackupError("backup-source-missing", `${file} is not a Fernlink database (no migration applied)`);
  return row.name;
}
