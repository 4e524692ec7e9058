import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { constants, copyFile, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { pathExists } from "../../shared/files.js";
import { CLUSTER_KEY_FILE } from "../cluster-key.js";
import { SQLITE_FILE } from "../store/sqlite.js";
import { existsError, writeArchive } from "./archive.js";
import { listDataFiles } from "./data-files.js";
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  BackupError,
  MANIFEST_NAME,
  type Manifest,
  type ManifestFile,
  type ManifestStore,
  PG_DUMP_ENTRY,
  SQLITE_ENTRY,
} from "./manifest.js";
import { pgDump } from "./pg-tools.js";
import { readPostgresVersion } from "./postgres-version.js";
import { snapshotSqlite } from "./sqlite-snapshot.js";

/** What to back up, and where to. */
export interface BackupOptions {
  /** The server's data directory. */
  dataDir: string;
  /** The backup file to write. */
  file: string;
  /** Replace `file` when it exists. */
  force: boolean;
  /**
   * On PostgreSQL: its URL, the cluster key file when not DIR/cluster-key, and whether to
   * include a pg_dump of the schema (else the database is the operator's pg_dump).
   */
  postgres?: { url: string; clusterKeyFile?: string | undefined; dump?: boolean | undefined } | undefined;
  /** The Fernlink version written into the manifest. */
  version: string;
  now: Date;
}

/** What was written. */
export interface BackupResult {
  manifest: Manifest;
  /** Entries of the data directory left out (folders, links, odd names). */
  skipped: string[];
}

/**
 * Writes one backup file of an access node: on SQLite a consistent copy of the database taken
 * while the server runs, on PostgreSQL the schema's migration only; and every file of the
 * data directory (CA, keys). Staged in a private folder beside `file`, which is removed again.
 */
export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const dataDir = resolve(options.dataDir);
  const file = resolve(options.file);
  if (!relative(dataDir, file).startsWith("..")) {
    throw new BackupError(
      "backup-exists",
      `${file} is inside the data directory ${dataDir}; write the backup outside it (the next backup would copy it again)`,
    );
  }
  if (!options.force && (await pathExists(file))) throw existsError(file);
  if (!(await isDirectory(dataDir)))
    throw new BackupError("backup-source-missing", `--data "${options.dataDir}" is not a directory; name the server's data directory`);
  if (!options.postgres && !(await pathExists(join(dataDir, SQLITE_FILE)))) {
    throw new BackupError(
      "backup-source-missing",
      `--data "${options.dataDir}" holds no ${SQLITE_FILE}; name the server's data directory (for PostgreSQL add --db URL)`,
    );
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const staging = await mkdtemp(join(dirname(file), `.${basename(file)}.staging-`));
  try {
    const store: ManifestStore = options.postgres
      ? await postgresStore(options.postgres.url)
      : { kind: "sqlite", ...(await snapshotSqlite(join(dataDir, SQLITE_FILE), join(staging, SQLITE_ENTRY))) };
    const { copied, skipped } = await listDataFiles(dataDir);
    const sources = new Map(copied.map((name) => [name, join(dataDir, name)]));
    if (options.postgres) {
      const clusterKey = options.postgres.clusterKeyFile === undefined ? join(dataDir, CLUSTER_KEY_FILE) : resolve(options.postgres.clusterKeyFile);
      if (!(await pathExists(clusterKey))) {
        throw new BackupError(
          "backup-source-missing",
          `no cluster key at ${clusterKey}: without it the keys in the database cannot be opened; name the file with --cluster-key FILE`,
        );
      }
      sources.set(CLUSTER_KEY_FILE, clusterKey);
    }
    const files: ManifestFile[] = [];
    if (store.kind === "sqlite") files.push(await describe(staging, SQLITE_ENTRY, 0o600));
    if (options.postgres?.dump) {
      await pgDump(options.postgres.url, join(staging, PG_DUMP_ENTRY));
      files.push(await describe(staging, PG_DUMP_ENTRY, 0o600));
    }
    for (const [name, source] of sources) {
      const mode = (await stat(source)).mode & 0o777;
      await copyFile(source, join(staging, name), constants.COPYFILE_EXCL);
      files.push(await describe(staging, name, mode));
    }
    const manifest: Manifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      fernlink: options.version,
      createdAt: options.now.toISOString(),
      store,
      files,
    };
    await writeFile(join(staging, MANIFEST_NAME), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await writeArchive(
      staging,
      files.map((f) => f.name),
      file,
      { force: options.force },
    );
    return { manifest, skipped };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function postgresStore(url: string): Promise<ManifestStore> {
  const { schema, migration } = await readPostgresVersion(url);
  return { kind: "postgres", schema, migration };
}

/** Size, hash and mode of a staged file, as the manifest lists it. */
async function describe(dir: string, name: string, mode: number): Promise<ManifestFile> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(join(dir, name)), hash);
  return { name, bytes: (await stat(join(dir, name))).size, sha256: hash.digest("hex"), mode };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
