import { readdir } from "node:fs/promises";
import { SQLITE_FILE } from "../store/sqlite.js";
import { EntryName, PG_DUMP_ENTRY } from "./manifest.js";

/** What of the data directory goes into a backup as it is, and what is left out. */
export interface DataFiles {
  /** Regular files copied as they are: the CA, the audit, secret and cluster keys, and whatever else the server keeps there. */
  copied: string[];
  /** Entries left out that are not the database's own files (folders, links, odd names), for a note to the operator. */
  skipped: string[];
}

/** The database and SQLite's journal files: the database is copied by SQLite's backup API instead. */
const DATABASE_FILES = new Set([SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`, `${SQLITE_FILE}-journal`]);

/**
 * Every key and file the server needs from `dataDir`. Taken as "every regular file" rather
 * than a fixed list, so a file a later version keeps there is not silently missing from
 * backups; temporary files of atomic writes (`*.tmp`) are not the server's state.
 */
export async function listDataFiles(dataDir: string): Promise<DataFiles> {
  const copied: string[] = [];
  const skipped: string[] = [];
  for (const entry of await readdir(dataDir, { withFileTypes: true })) {
    // A restored dump left for pg_restore by hand is the database, not a key.
    if (DATABASE_FILES.has(entry.name) || entry.name === PG_DUMP_ENTRY || entry.name.endsWith(".tmp")) continue;
    if (entry.isFile() && EntryName.safeParse(entry.name).success) copied.push(entry.name);
    else skipped.push(entry.name);
  }
  return { copied: copied.sort(), skipped: skipped.sort() };
}
