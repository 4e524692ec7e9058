import type { KeyObject } from "node:crypto";
import { createSecretKey, randomBytes } from "node:crypto";
import { link, open, readFile, rm } from "node:fs/promises";
import { FernlinkError } from "../protocol/errors.js";

/** Bytes in each of the server's own symmetric keys (audit chain, secret box, cluster key). */
export const KEY_BYTES = 32;

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Creates a 0600 file of random key bytes in hex at `path`; false when another process created it first. */
export async function createKeyFile(path: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const file = await open(tmp, "wx", 0o600);
  try {
    await file.chmod(0o600); // exact mode, whatever the umask
    await file.writeFile(`${randomBytes(KEY_BYTES).toString("hex")}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Loads the key file at `path`, creating it on first start: written in full to a temporary
 * file, then linked to its name, so a crash never leaves a half key and two starts racing
 * agree on one. `what` names the key and what is lost without it, for the error message.
 */
export async function loadOrCreateKeyFile(path: string, what: { name: string; lostWithout: string }): Promise<{ key: KeyObject; created: boolean }> {
  let created = false;
  let text = await readIfExists(path);
  if (text === undefined) {
    created = await createKeyFile(path);
    text = await readFile(path, "utf8");
  }
  return { key: parseKeyFile(text, path, what), created };
}

/** Loads the key file at `path` like loadOrCreateKeyFile, but never creates it: undefined when it does not exist. */
export async function readKeyFileIfExists(path: string, what: { name: string; lostWithout: string }): Promise<KeyObject | undefined> {
  const text = await readIfExists(path);
  return text === undefined ? undefined : parseKeyFile(text, path, what);
}

function parseKeyFile(text: string, path: string, what: { name: string; lostWithout: string }): KeyObject {
  const hex = text.trim();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length !== KEY_BYTES * 2) {
    throw new FernlinkError("internal", `${what.name} ${path} is not ${KEY_BYTES} bytes of hex: restore it from a backup (without it ${what.lostWithout})`);
  }
  return createSecretKey(Buffer.from(hex, "hex"));
}
