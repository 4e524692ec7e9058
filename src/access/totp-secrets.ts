import type { KeyObject } from "node:crypto";
import type { Kysely } from "kysely";
import type { Logger } from "../shared/log.js";
import { isSealed, openSecret, sealSecret } from "./secret-box.js";
import type { Database } from "./store/schema.js";

/**
 * One-time code secrets at rest: `users.totp_secret` holds the secret sealed in the secret box
 * (AES-256-GCM under DATA/secret-key), bound to its user, never in clear — whoever reads the
 * database or a backup of it cannot compute a user's codes.
 */

function context(userId: string): string {
  return `user-totp:${userId}`;
}

/** The stored form of a user's new secret. */
export function sealTotpSecret(key: KeyObject, userId: string, secret: string): string {
  return sealSecret(key, secret, context(userId));
}

/**
 * A user's secret from its stored form; "internal" when a sealed one does not open (another key,
 * another row). A secret still in clear — written before secrets were sealed, e.g. by an older
 * node of a cluster during an upgrade — is used as it is and sealed at the next start: whoever
 * can write it there could as well turn the user's codes off.
 */
export function openTotpSecret(key: KeyObject, userId: string, stored: string): string {
  return isSealed(stored) ? openSecret(key, stored, context(userId)) : stored;
}

/**
 * Seals every secret still stored in clear (written before secrets were sealed) and returns how
 * many it sealed. Run at every start, after the migrations: the migrations cannot, as they do
 * not have the key. Each update is conditional on the clear value, so two nodes starting at once
 * seal a secret once.
 */
export async function sealStoredTotpSecrets(db: Kysely<Database>, key: KeyObject, log?: Logger): Promise<number> {
  const rows = await db.selectFrom("users").select(["id", "totp_secret"]).where("totp_secret", "is not", null).execute();
  let sealed = 0;
  for (const row of rows) {
    if (row.totp_secret === null || isSealed(row.totp_secret)) continue;
    const result = await db
      .updateTable("users")
      .set({ totp_secret: sealTotpSecret(key, row.id, row.totp_secret) })
      .where("id", "=", row.id)
      .where("totp_secret", "=", row.totp_secret)
      .executeTakeFirst();
    sealed += Number(result.numUpdatedRows);
  }
  if (sealed > 0) log?.info("sealed one-time code secrets stored in clear", { users: sealed });
  return sealed;
}
