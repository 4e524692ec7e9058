/**
 * What a backup file holds, described by its first entry `manifest.json`: the format version,
 * the store it came from with its last migration, and every other entry with its size, mode
 * and SHA-256. Restore trusts nothing in the archive that this manifest does not vouch for.
 */

import { z } from "zod";

/** Name of the manifest entry, the first of every backup file. */
export const MANIFEST_NAME = "manifest.json";
/** Name of the SQLite snapshot inside a backup file. */
export const SQLITE_ENTRY = "fernlink.db";
/** Name of the pg_dump of a PostgreSQL schema inside a backup file (`server backup --pg-dump`). */
export const PG_DUMP_ENTRY = "postgres.pgdump";
/** The format this build writes and reads. */
export const BACKUP_FORMAT = "fernlink-backup";
export const BACKUP_VERSION = 1;
/** Manifests are small; a larger first entry is not one of ours. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/** A plain file name inside the data directory: no folders, no dot files, nothing a shell or tar treats specially. */
export const EntryName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
  .refine((name) => name !== MANIFEST_NAME, "manifest.json is not a data file");

/** One data file in the backup. */
export const ManifestFile = z.strictObject({
  name: EntryName,
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Permission bits to restore, e.g. 0o600 for keys, 0o644 for ca.pem. */
  mode: z.number().int().min(0).max(0o777),
});
export type ManifestFile = z.infer<typeof ManifestFile>;

/** Where the accounts and devices were kept, and how far their schema was migrated. */
export const ManifestStore = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("sqlite"), migration: z.string().min(1).max(200) }),
  /** PostgreSQL: the database is backed up with pg_dump; this file holds the keys. */
  z.strictObject({ kind: z.literal("postgres"), schema: z.string().min(1).max(63), migration: z.string().min(1).max(200).nullable() }),
]);
export type ManifestStore = z.infer<typeof ManifestStore>;

/** The whole manifest. */
export const Manifest = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(BACKUP_VERSION),
  /** The Fernlink version that wrote it. */
  fernlink: z.string().min(1).max(100),
  createdAt: z.iso.datetime(),
  store: ManifestStore,
  files: z.array(ManifestFile).max(1000),
});
export type Manifest = z.infer<typeof Manifest>;

/** Why a backup or restore was refused; the CLI prints the message as one line and exits 1. */
export type BackupErrorCode =
  | "backup-exists"
  | "backup-damaged"
  | "backup-too-new"
  | "restore-target-not-empty"
  | "backup-source-missing"
  | "database-tool-failed"
  | "wrong-schema";

/** A backup or restore that cannot go ahead, with a stable code. */
export class BackupError extends Error {
  override readonly name = "BackupError";

  constructor(
    readonly code: BackupErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The manifest's text, or a damaged-file error naming the first problem. */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BackupError("backup-damaged", `backup file ${file} has an unreadable manifest; it is damaged or not a Fernlink backup`, { cause: err });
  }
  const format = (json as { format?: unknown; version?: unknown } | null)?.format;
  const version = (json as { version?: unknown } | null)?.version;
  if (format === BACKUP_FORMAT && typeof version === "number" && version > BACKUP_VERSION) {
    throw new BackupError(
      "backup-too-new",
      `backup file ${file} has format version ${version}; restore it with the Fernlink version that wrote it or a newer one`,
    );
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join(".") || "manifest"}: ${issue.message}` : "invalid";
    throw new BackupError("backup-damaged", `backup file ${file} has an invalid manifest (${where}); it is damaged or not a Fernlink backup`);
  }
  const names = new Set<string>();
  for (const f of parsed.data.files) {
    if (names.has(f.name)) throw new BackupError("backup-damaged", `backup file ${file} lists "${f.name}" twice in its manifest; it is damaged`);
    names.add(f.name);
  }
  return parsed.data;
}
