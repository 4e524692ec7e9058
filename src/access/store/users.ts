import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../shared/errors.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, User } from "./schema.js";
import { iso } from "./time.js";
import type { Instant } from "./time.js";

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
export function findUserByName(
  db: Kysely<Database>,
  accountId: string,
  name: string,
): Promise<User | undefined> {
  return db
    .selectFrom("users")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("name", "=", name)
    .executeTakeFirst();
}

/** The user with this id, if any. */
export function getUser(db: Kysely<Database>, id: string): Promise<User | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}
