import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { constraintViolation } from "./db-errors.js";
import type { Account, Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** Creates an account; throws FernlinkError "conflict" when the name is taken. */
export async function createAccount(db: Kysely<Database>, input: { name: string; now: Instant }): Promise<Account> {
  try {
    return await db
      .insertInto("accounts")
      .values({ id: randomUUID(), name: input.name, created_at: iso(input.now) })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    if (constraintViolation(err) === "unique") {
      throw new FernlinkError("conflict", `account "${input.name}" already exists`, { cause: err });
    }
    throw err;
  }
}

/** The account called `name`, if any. */
export function findAccountByName(db: Kysely<Database>, name: string): Promise<Account | undefined> {
  return db.selectFrom("accounts").selectAll().where("name", "=", name).executeTakeFirst();
}

/** The account with this id, if any. */
export function findAccountById(db: Kysely<Database>, id: string): Promise<Account | undefined> {
  return db.selectFrom("accounts").selectAll().where("id", "=", id).executeTakeFirst();
}

/** How many accounts exist (zero means the server is not set up yet). */
export async function countAccounts(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("accounts")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The account policy columns that can be changed. */
export type AccountPolicyColumns = Partial<
  Pick<Account, "min_password_length" | "max_password_age_days" | "password_history" | "lockout_after" | "require_otp" | "require_reason">
>;

/** Changes an account's policy columns and returns the account as it now is. */
export async function updateAccountPolicy(db: Kysely<Database>, id: string, changes: AccountPolicyColumns): Promise<Account> {
  if (Object.keys(changes).length > 0) await db.updateTable("accounts").set(changes).where("id", "=", id).execute();
  const account = await findAccountById(db, id);
  if (!account) throw new FernlinkError("not-found", "account not found");
  return account;
}

/** Every account's id and whether it is disabled: what each node compares once a second (account-watch.ts). */
export function accountStates(db: Kysely<Database>): Promise<Pick<Account, "id" | "disabled_at">[]> {
  return db.selectFrom("accounts").select(["id", "disabled_at"]).execute();
}

/** Disables (`at` a time) or enables (`at` null) an account; false when there is no such account. */
export async function setAccountDisabled(db: Kysely<Database>, id: string, at: Instant | null): Promise<boolean> {
  const result = await db
    .updateTable("accounts")
    .set({ disabled_at: at === null ? null : iso(at) })
    .where("id", "=", id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Every account, by name. */
export function listAccounts(db: Kysely<Database>): Promise<Account[]> {
  return db.selectFrom("accounts").selectAll().orderBy("name").execute();
}
