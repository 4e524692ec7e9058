import { createHash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { type ArchiveEntry, damagedError, readArchive } from "./archive.js";
import { EntryName, MANIFEST_NAME, MAX_MANIFEST_BYTES, type Manifest, parseManifest } from "./manifest.js";

/** Size and SHA-256 of one entry as read. */
interface Seen {
  bytes: number;
  sha256: string;
}

/**
 * Reads the whole backup file and checks it against its manifest: the manifest comes first,
 * every other entry is a plain file it lists with the same size and SHA-256, and nothing it
 * lists is missing. Writes nothing. Returns the manifest.
 */
export async function verifyArchive(file: string): Promise<Manifest> {
  let manifest: Manifest | undefined;
  const seen = new Map<string, Seen>();
  await readArchive(file, async (entry, index) => {
    if (index === 0) {
      if (entry.type !== "File" || entry.path !== MANIFEST_NAME) throw damagedError(file, `its first entry is "${entry.path}", not ${MANIFEST_NAME}`);
      manifest = parseManifest(await readSmall(entry, file), file);
      return;
    }
    const name = dataEntryName(entry, file);
    if (seen.has(name)) throw damagedError(file, `"${name}" is in it twice`);
    const hash = createHash("sha256");
    let bytes = 0;
    entry.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    await endOf(entry);
    seen.set(name, { bytes, sha256: hash.digest("hex") });
  });
  if (manifest === undefined) throw damagedError(file, "it holds no manifest");
  compare(manifest, seen, file);
  return manifest;
}

/**
 * Writes the data files of the backup file into the empty folder `dir` (each with the mode
 * its manifest gives), checking each against `manifest` again as it is written: the file
 * may have changed since verifyArchive read it.
 */
export async function extractArchive(file: string, manifest: Manifest, dir: string): Promise<void> {
  const modes = new Map(manifest.files.map((f) => [f.name, f.mode]));
  const seen = new Map<string, Seen>();
  await readArchive(file, async (entry, index) => {
    if (index === 0) {
      entry.resume();
      await endOf(entry);
      return;
    }
    const name = dataEntryName(entry, file);
    const mode = modes.get(name);
    if (mode === undefined || seen.has(name)) throw damagedError(file, `"${name}" changed since it was checked`);
    const path = join(dir, name);
    const out = createWriteStream(path, { flags: "wx", mode: 0o600 });
    const written = writeHashed(entry, out);
    await Promise.all([endOf(entry), finished(out)]);
    await chmod(path, mode);
    seen.set(name, written.digest());
  });
  compare(manifest, seen, file);
}

/** Resolves when an entry's body was read to its end (a tar entry is a Minipass stream, which stream.finished does not know). */
function endOf(entry: ArchiveEntry): Promise<void> {
  return new Promise((resolve, reject) => {
    entry.once("end", () => resolve());
    entry.once("error", reject);
  });
}

/**
 * Writes an entry's body to `out` and hashes it on the way, pausing the entry while `out` is
 * full. (Not entry.pipe() plus a "data" listener: the listener would start the flow before the
 * pipe is attached, and a small file's bytes would miss it.)
 */
function writeHashed(entry: ArchiveEntry, out: WriteStream): { digest(): Seen } {
  const hash = createHash("sha256");
  let bytes = 0;
  entry.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
    if (!out.write(chunk)) {
      entry.pause();
      out.once("drain", () => entry.resume());
    }
  });
  entry.once("end", () => out.end());
  entry.once("error", (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return { digest: () => ({ bytes, sha256: hash.digest("hex") }) };
}

/** The name of a data entry, refusing anything but a plain file with a plain name (no folders, links or `..`). */
function dataEntryName(entry: ArchiveEntry, file: string): string {
  if (entry.type !== "File" && entry.type !== "OldFile") throw damagedError(file, `it holds a ${entry.type} "${entry.path}"`);
  if (!EntryName.safeParse(entry.path).success) throw damagedError(file, `it holds an entry named "${entry.path}"`);
  return entry.path;
}

async function readSmall(entry: ArchiveEntry, file: string): Promise<string> {
  if (entry.size > MAX_MANIFEST_BYTES) throw damagedError(file, `its manifest is ${entry.size} bytes`);
  const chunks: Buffer[] = [];
  entry.on("data", (chunk: Buffer) => chunks.push(chunk));
  await endOf(entry);
  return Buffer.concat(chunks).toString("utf8");
}

/** Every listed file seen with its size and hash, and nothing else. */
function compare(manifest: Manifest, seen: ReadonlyMap<string, Seen>, file: string): void {
  for (const f of manifest.files) {
    const got = seen.get(f.name);
    if (got === undefined) throw damagedError(file, `"${f.name}" is missing`);
    if (got.bytes !== f.bytes || got.sha256 !== f.sha256) throw damagedError(file, `"${f.name}" does not match its checksum`);
  }
  const listed = new Set(manifest.files.map((f) => f.name));
  for (const name of seen.keys()) if (!listed.has(name)) throw damagedError(file, `"${name}" is not in its manifest`);
}
