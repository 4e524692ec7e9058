import { randomBytes } from "node:crypto";
import { chmod, link, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { create, list, type ReadEntry } from "tar";
import { BackupError, MANIFEST_NAME } from "./manifest.js";

/**
 * The backup file: a gzip'd tar of `manifest.json` first, then the data files, all plain files
 * side by side. Writing is atomic (a temporary file beside it, then link or rename); reading
 * hands each entry to a callback and never touches the disk itself.
 */

/**
 * Packs `manifest.json` and `names` from `dir` into `file` (0600: it holds private keys).
 * Without `force` an existing `file` is never replaced, not even by a race: the finished
 * archive is hard-linked to its name, which fails when the name is taken.
 */
export async function writeArchive(dir: string, names: readonly string[], file: string, options: { force: boolean }): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await create({ gzip: true, file: tmp, cwd: dir, portable: true, mode: 0o600 }, [MANIFEST_NAME, ...names]);
    await chmod(tmp, 0o600); // exact, whatever the umask
    const handle = await open(tmp, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.force) {
      await rename(tmp, file);
      return;
    }
    try {
      await link(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw existsError(file);
      throw err;
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The refusal to replace an earlier backup. */
export function existsError(file: string): BackupError {
  return new BackupError("backup-exists", `${file} already exists; give another file name, or --force to replace it`);
}

/** One entry of a backup file, as the reader hands it over: its body must be consumed or the read stalls. */
export type ArchiveEntry = ReadEntry;

/**
 * Reads the entries of `file` in order, calling `onEntry` for each; the returned promise
 * settles after every callback did. A damaged file (not gzip, truncated, not tar) and the
 * first callback failure both reject it; the remaining entries are drained, not handled.
 */
export async function readArchive(file: string, onEntry: (entry: ArchiveEntry, index: number) => Promise<void>): Promise<void> {
  const pending: Promise<void>[] = [];
  const unfinished = new Set<ReadEntry>();
  let failure: { err: unknown } | undefined;
  let index = 0;
  const handle = (entry: ReadEntry): void => {
    unfinished.add(entry);
    entry.once("end", () => unfinished.delete(entry));
    entry.on("error", () => {}); // reported through onEntry's promise, or not needed after a failure
    if (failure) {
      entry.resume();
      return;
    }
    pending.push(
      onEntry(entry, index++).catch((err: unknown) => {
        failure ??= { err };
        entry.resume();
      }),
    );
  };
  let parsed: unknown;
  try {
    await list({ file, strict: true, noResume: true, onReadEntry: handle });
  } catch (err) {
    parsed = err;
  }
  // A truncated file ends inside an entry, which then never ends by itself: end its reader with the error.
  for (const entry of unfinished) {
    if (parsed !== undefined || entry.remain > 0) entry.emit("error", damagedError(file, parsed ?? "it ends inside an entry"));
  }
  await Promise.allSettled(pending);
  if (parsed !== undefined) throw damagedError(file, parsed);
  if (failure) throw failure.err;
}

/** A file that is not a whole backup: truncated, altered, or something else. */
export function damagedError(file: string, cause?: unknown): BackupError {
  const detail = cause === undefined ? "" : ` (${oneLine(cause instanceof Error ? cause.message : String(cause))})`;
  return new BackupError("backup-damaged", `backup file ${file} is damaged or not a Fernlink backup${detail}; use another copy`, { cause });
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}
