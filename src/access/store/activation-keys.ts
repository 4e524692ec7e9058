import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { constraintViolation } from "./db-errors.js";
import type { ActivationKey, Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** Outcome of presenting an activation key. */
export type ConsumeResult =
  | { ok: true; deviceId: string }
  | { ok: false; reason: "unknown" }
  | { ok: false; reason: "used" | "expired" | "replaced"; deviceId: string };

/**
 * Stores a single-use activation key for a device; `keyHash` is the hash, never the key.
 * The device's earlier unused keys expire at once: only the newest key an admin handed out
 * registers the device, so a key that leaked on the way is worthless once replaced.
 */
export async function createActivationKey(
  db: Kysely<Database>,
  input: { deviceId: string; keyHash: string; now: Instant; expiresAt: Instant },
): Promise<ActivationKey> {
  const key: ActivationKey = {
    id: randomUUID(),
    device_id: input.deviceId,
    key_hash: input.keyHash,
    created_at: iso(input.now),
    expires_at: iso(input.expiresAt),
    used_at: null,
  };
  try {
    await db
      .updateTable("activation_keys")
      .set({ expires_at: key.created_at })
      .where("device_id", "=", input.deviceId)
      .where("used_at", "is", null)
      .where("expires_at", ">", key.created_at)
      .execute();
    await db.insertInto("activation_keys").values(key).execute();
  } catch (err) {
    const violation = constraintViolation(err);
    if (violation === "foreign-key") {
      throw new FernlinkError("not-found", "device not found", { cause: err });
    }
    if (violation === "unique") {
      throw new FernlinkError("conflict", "activation key already exists", { cause: err });
    }
    throw err;
  }
  return key;
}

/**
 * Marks the key used if it is unused and unexpired at `now`. The check and the mark are one
 * conditional UPDATE, so of any number of concurrent calls exactly one can succeed.
 */
export async function consumeActivationKey(db: Kysely<Database>, keyHash: string, now: Instant): Promise<ConsumeResult> {
  const at = iso(now);
  const consumed = await db
    .updateTable("activation_keys")
    .set({ used_at: at })
    .where("key_hash", "=", keyHash)
    .where("used_at", "is", null)
    .where("expires_at", ">", at)
    .returning("device_id")
    .executeTakeFirst();
  if (consumed !== undefined) return { ok: true, deviceId: consumed.device_id };

  const key = await db.selectFrom("activation_keys").select(["used_at", "device_id", "created_at"]).where("key_hash", "=", keyHash).executeTakeFirst();
  if (key === undefined) return { ok: false, reason: "unknown" };
  if (key.used_at !== null) return { ok: false, reason: "used", deviceId: key.device_id };
  const newer = await db
    .selectFrom("activation_keys")
    .select("id")
    .where("device_id", "=", key.device_id)
    .where("created_at", ">", key.created_at)
    .executeTakeFirst();
  return { ok: false, reason: newer ? "replaced" : "expired", deviceId: key.device_id };
}
