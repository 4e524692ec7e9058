import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { migrationProvider } from "../store/migrations.js";
import { extractArchive, verifyArchive } from "./archive-contents.js";
import { BackupError, type Manifest, PG_DUMP_ENTRY } from "./manifest.js";
import { pgConnection, pgRestore } from "./pg-tools.js";

/** What to restore, and where to. */
export interface RestoreOptions {
  /** The new data directory: missing or empty. */
  dataDir: string;
  /** The backup file. */
  file: string;
  /** PostgreSQL URL to pg_restore the backup's dump into (when it holds one); its schema must not exist yet. */
  postgresUrl?: string | undefined;
}

/**
 * Restores a backup file into a new data directory. The file is checked in full against its
 * manifest before anything is written; the files then go to a private folder beside
 * `dataDir`, which is renamed to it only when all of them are there and checked again, so a
 * failure leaves no half-restored directory behind.
 */
export async function restoreBackup(options: RestoreOptions): Promise<Manifest> {
  const dataDir = resolve(options.dataDir);
  const file = resolve(options.file);
  await checkFile(file);
  await checkTarget(dataDir, options.dataDir);
  const manifest = await verifyArchive(file);
  await checkMigration(manifest, file);
  const restoreDump = options.postgresUrl !== undefined && manifest.files.some((f) => f.name === PG_DUMP_ENTRY);
  if (restoreDump && manifest.store.kind === "postgres") checkSchema(options.postgresUrl!, manifest.store.schema);
  await mkdir(dirname(dataDir), { recursive: true, mode: 0o700 });
  const temp = await mkdtemp(join(dirname(dataDir), `.${basename(dataDir)}.restore-`));
  try {
    await extractArchive(file, manifest, temp);
    if (restoreDump) {
      await pgRestore(options.postgresUrl!, join(temp, PG_DUMP_ENTRY));
      await rm(join(temp, PG_DUMP_ENTRY));
    }
    await chmod(temp, 0o700);
    try {
      // Replaces an empty directory; one that filled up in the meantime is not replaced (ENOTEMPTY).
      await rename(temp, dataDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") throw notEmptyError(options.dataDir, await readdir(dataDir));
      throw err;
    }
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  return manifest;
}

async function checkFile(file: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (err) {
    throw new BackupError(
      "backup-damaged",
      `cannot read backup file ${file} (${(err as NodeJS.ErrnoException).code ?? "error"}); name an existing backup file`,
      {
        cause: err,
      },
    );
  }
  if (!isFile) throw new BackupError("backup-damaged", `${file} is not a file; name a backup file written by fernlink server backup`);
}

/** The target must not exist, or be an empty directory: a restore never mixes with, or replaces, a store. */
async function checkTarget(dataDir: string, given: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dataDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") throw new BackupError("restore-target-not-empty", `--data "${given}" is a file; restore into a new or empty folder`);
    throw err;
  }
  if (entries.length > 0) throw notEmptyError(given, entries);
}

function notEmptyError(given: string, entries: string[]): BackupError {
  const store =
    entries.includes("fernlink.db") || entries.includes("ca.pem") ? "holds a Fernlink store" : `is not empty (${entries.sort().slice(0, 3).join(", ")})`;
  return new BackupError("restore-target-not-empty", `--data "${given}" ${store}; restore into a new or empty folder, never over a store`);
}

/** A backup whose database this build cannot run is refused before anything is written. */
async function checkMigration(manifest: Manifest, file: string): Promise<void> {
  const migration = manifest.store.migration;
  if (migration === null) return;
  const known = Object.keys(await migrationProvider(manifest.store.kind).getMigrations());
  if (!known.includes(migration)) {
    throw new BackupError(
      "backup-too-new",
      `backup file ${file} holds a database at migration ${migration}, which this Fernlink (${known.at(-1) ?? "none"}) does not know; ` +
        `restore it with the version that wrote it (${manifest.fernlink}) or a newer one`,
    );
  }
}

/** The dump recreates the schema it was taken from: the URL the server will use must name that one. */
function checkSchema(url: string, schema: string): void {
  const wanted = pgConnection(url).schema;
  if (wanted !== schema) {
    throw new BackupError("wrong-schema", `the backup's dump holds schema "${schema}", but --db names schema "${wanted}"; give --db …?schema=${schema}`);
  }
}
