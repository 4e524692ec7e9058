import type { KeyObject } from "node:crypto";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { FernlinkError } from "../protocol/errors.js";
import type { Logger } from "../shared/log.js";
import { loadOrCreateKeyFile } from "./key-file.js";
import type { Database } from "./store/schema.js";

/**
 * The secret box: secrets the server must use later in clear (a VNC panel's password, a user's
 * one-time code secret) are
 * stored sealed with AES-256-GCM under `DATA/secret-key`, a key that never enters the
 * database. Each sealed value is bound to what it belongs to (its `context`), so a value
 * copied onto another row does not open.
 */

/** Name of the secret box key file inside the data directory (0600, hex). */
export const SECRET_KEY_FILE = "secret-key";

const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

/** Loads `DATA/secret-key`, creating it on first start (safe against a crash or a racing start). */
export async function loadOrCreateSecretKey(dataDir: string): Promise<{ key: KeyObject; created: boolean }> {
  return loadOrCreateKeyFile(join(dataDir, SECRET_KEY_FILE), {
    name: "secret key",
    lostWithout: "stored VNC passwords and one-time code secrets cannot be used",
  });
}

/**
 * The key for the server: loaded or created, with a loud warning when a new key meets a
 * database that already holds sealed secrets (they will not open with it).
 */
export async function openSecretKey(dataDir: string, db: Kysely<Database>, log: Logger): Promise<KeyObject> {
  const { key, created } = await loadOrCreateSecretKey(dataDir);
  if (created) {
    const targets = await db.selectFrom("web_targets").select("id").where("secret", "is not", null).limit(1).execute();
    const users = await db.selectFrom("users").select("id").where("totp_secret", "like", "v1:%").limit(1).execute();
    if (targets.length + users.length > 0) {
      log.error("created a new secret key, but the database already holds secrets sealed with another one", {
        file: join(dataDir, SECRET_KEY_FILE),
        fix: "restore the old secret-key from a backup of the data directory, or set the VNC passwords and one-time codes again",
      });
    }
  }
  return key;
}

function additionalData(context: string): Buffer {
  return Buffer.from(`fernlink-secret:${VERSION}:${context}`, "utf8");
}

/** True when `value` has the form sealSecret gives (a base32 secret or a password in clear may not contain ":" at that place). */
export function isSealed(value: string): boolean {
  return /^v1:[A-Za-z0-9_-]+$/.test(value);
}

/** Seals `secret` for the record named `context` (e.g. `web-target:<id>`): `v1:` and base64url of IV, tag and ciphertext. */
export function sealSecret(key: KeyObject, secret: string, context: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(context));
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
}

/**
 * Opens a value sealed by sealSecret for the same `context`. A damaged value, another key or
 * another context is "internal" — the message names the context and the key file, never the secret.
 */
export function openSecret(key: KeyObject, sealed: string, context: string): string {
  const refuse = (cause?: unknown) =>
    new FernlinkError(
      "internal",
      `the stored secret of ${context} cannot be opened with ${SECRET_KEY_FILE}: restore the key file from a backup, or set the secret again`,
      cause === undefined ? undefined : { cause },
    );
  const prefix = `${VERSION}:`;
  if (!sealed.startsWith(prefix)) throw refuse();
  const raw = Buffer.from(sealed.slice(prefix.length), "base64url");
  if (raw.length < IV_BYTES + TAG_BYTES) throw refuse();
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(context));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch (err) {
    throw refuse(err);
  }
}
