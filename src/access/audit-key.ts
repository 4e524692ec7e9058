import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import type { Kysely } from "kysely";
import type { Logger } from "../shared/log.js";
import { loadOrCreateKeyFile } from "./key-file.js";
import type { Database } from "./store/schema.js";

/** Name of the audit chain's key file inside the data directory (0600, hex). */
export const AUDIT_KEY_FILE = "audit-key";

/** Loads `DATA/audit-key`, creating it on first start. */
export async function loadOrCreateAuditKey(dataDir: string): Promise<{ key: KeyObject; created: boolean }> {
  return loadOrCreateKeyFile(join(dataDir, AUDIT_KEY_FILE), { name: "audit key", lostWithout: "the audit chain cannot be verified" });
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
