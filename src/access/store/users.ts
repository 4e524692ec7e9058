import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { byNaturalName } from "../../shared/natural-order.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, User } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** Creates a user in an account; "conflict" when the name is taken there, "not-found" without the account. */
export async function createUser(
  db: Kysely<Database>,
  input: { accountId: string; name: string; passwordHash: string; role: User["role"]; now: Instant },
): Promise<User> {
  try {
    return await db
      .insertInto("users")
      .values({
        id: randomUUID(),
        account_id: input.accountId,
        name: input.name,
        password_hash: input.passwordHash,
        role: input.role,
        created_at: iso(input.now),
        password_changed_at: iso(input.now),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    const violation = constraintViolation(err);
    if (violation === "unique") {
      throw new FernlinkError("conflict", `user "${input.name}" already exists`, { cause: err });
    }
    if (violation === "foreign-key") {
      throw new FernlinkError("not-found", "account not found", { cause: err });
    }
    throw err;
  }
}

/** The user called `name` in an account, if any. */
export function findUserByName(db: Kysely<Database>, accountId: string, name: string): Promise<User | undefined> {
  return db.selectFrom("users").selectAll().where("account_id", "=", accountId).where("name", "=", name).executeTakeFirst();
}

/** The user with this id, if any. */
export function getUser(db: Kysely<Database>, id: string): Promise<User | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The users of an account, by name. */
export function listUsers(db: Kysely<Database>, accountId: string): Promise<User[]> {
  return db.selectFrom("users").selectAll().where("account_id", "=", accountId).execute().then(byNaturalName);
}

/** Deletes a user; sessions, password history and group memberships go with it (foreign keys cascade). */
export async function deleteUser(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom("users").where("id", "=", id).execute();
}

/** Sets the instant before which failed logins no longer count; in the future it is a lock. */
export async function setLockedUntil(db: Kysely<Database>, id: string, until: Instant): Promise<void> {
  await db
    .updateTable("users")
    .set({ locked_until: iso(until) })
    .where("id", "=", id)
    .execute();
}

/**
 * Sets `locked_until` only if it still holds `expected` (what the caller read earlier), so a
 * lock, unlock or reset made meanwhile is never overwritten. Returns whether it was set.
 */
export async function setLockedUntilIf(db: Kysely<Database>, id: string, expected: string | null, until: Instant): Promise<boolean> {
  const result = await db
    .updateTable("users")
    .set({ locked_until: iso(until) })
    .where("id", "=", id)
    .where("locked_until", expected === null ? "is" : "=", expected)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * Replaces the password hash and notes when it changed; `mustChange` marks a password an admin
 * set, which the user must change at the next login (the user's own change clears it).
 */
export async function setPasswordHash(db: Kysely<Database>, id: string, passwordHash: string, now: Instant, mustChange = false): Promise<void> {
  await db
    .updateTable("users")
    .set({ password_hash: passwordHash, password_changed_at: iso(now), must_change_password: mustChange ? 1 : 0 })
    .where("id", "=", id)
    .execute();
}

/** Sets (an instant) or lifts (null) the lock only an admin lifts. */
export async function setAdminLock(db: Kysely<Database>, id: string, at: Instant | null): Promise<void> {
  await db
    .updateTable("users")
    .set({ admin_locked_at: at === null ? null : iso(at) })
    .where("id", "=", id)
    .execute();
}

/** Changes a user's role. */
export async function setRole(db: Kysely<Database>, id: string, role: User["role"]): Promise<void> {
  await db.updateTable("users").set({ role }).where("id", "=", id).execute();
}

/** How many admins an account has. */
export async function countAdmins(db: Kysely<Database>, accountId: string): Promise<number> {
  const row = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
    .where("account_id", "=", accountId)
    .where("role", "=", "admin")
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Turns one-time codes on with `secret`, or off (secret null); the replay guard starts afresh. */
export async function setTotp(db: Kysely<Database>, id: string, secret: string | null): Promise<void> {
  await db
    .updateTable("users")
    .set({ totp_secret: secret, totp_enabled: secret === null ? 0 : 1, totp_last_step: null })
    .where("id", "=", id)
    .execute();
}

/**
 * Records that the code of time step `step` was used, unless this or a later step was used
 * already: one conditional UPDATE, so two requests racing with the same code cannot both win.
 */
export async function consumeTotpStep(db: Kysely<Database>, id: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable("users")
    .set({ totp_last_step: step })
    .where("id", "=", id)
    .where((eb) => eb.or([eb("totp_last_step", "is", null), eb("totp_last_step", "<", step)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
