import { createSecretKey, randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { link, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { FernlinkError } from "../shared/errors.js";
import type { Logger } from "../shared/log.js";
import type { Database } from "./store/schema.js";

/** Name of the audit chain's key file inside the data directory (0600, hex). */
export const AUDIT_KEY_FILE = "audit-key";

const KEY_BYTES = 32;

/**
 * Loads `DATA/audit-key`, creating it on first start: written in full to a temporary file,
 * then linked to its name, so a crash never leaves a half key and two starts racing agree on one.
 */
export async function loadOrCreateAuditKey(dataDir: string): Promise<{ key: KeyObject; created: boolean }> {
  const path = join(dataDir, AUDIT_KEY_FILE);
  let created = false;
  let text = await readIfExists(path);
  if (text === undefined) {
    created = await createKeyFile(path);
    text = await readFile(path, "utf8");
  }
  const hex = text.trim();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length !== KEY_BYTES * 2) {
    throw new FernlinkError(
      "internal",
      `audit key ${path} is not ${KEY_BYTES} bytes of hex: restore it from a backup (without it the audit chain cannot be verified)`,
    );
  }
  return { key: createSecretKey(Buffer.from(hex, "hex")), created };
}

/**
 * The key for the server: loaded or created, with a loud warning when a new key meets a
 * database that already holds chains (their records will not verify with it).
 */
export async function openAuditKey(dataDir: string, db: Kysely<Database>, log: Logger): Promise<KeyObject> {
  const { key, created } = await loadOrCreateAuditKey(dataDir);
  if (created) {
    const chains = await db.selectFrom("audit_heads").select("chain").limit(1).execute();
    if (chains.length > 0) {
      log.error("created a new audit key, but the database already holds audit chains signed with another one", {
        file: join(dataDir, AUDIT_KEY_FILE),
        fix: "restore the old audit-key from a backup of the data directory; until then `fernlink audit verify` reports the older records as altered",
      });
    }
  }
  return key;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Returns false when another process created the file first. */
async function createKeyFile(path: string): Promise<boolean> {
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
