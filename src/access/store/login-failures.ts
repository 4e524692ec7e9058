import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { iso } from "./time.js";
import type { Instant } from "./time.js";

/** One failed login: by the names given (which may not exist) and the source address. */
export interface LoginFailure {
  accountName: string;
  userName: string;
  source: string;
  at: Instant;
}

/** Records a failed login. */
export async function recordLoginFailure(db: Kysely<Database>, failure: LoginFailure): Promise<void> {
  await db
    .insertInto("login_failures")
    .values({ id: randomUUID(), account_name: failure.accountName, user_name: failure.userName, source: failure.source, at: iso(failure.at) })
    .execute();
}

/** Failures of one account/user name pair after `since`. */
export async function countUserFailures(db: Kysely<Database>, accountName: string, userName: string, since: Instant): Promise<number> {
  const row = await db
    .selectFrom("login_failures")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("account_name", "=", accountName)
    .where("user_name", "=", userName)
    .where("at", ">", iso(since))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The times of the failures from one source after `since`, oldest first. */
export async function sourceFailureTimes(db: Kysely<Database>, source: string, since: Instant): Promise<string[]> {
  const rows = await db
    .selectFrom("login_failures")
    .select("at")
    .where("source", "=", source)
    .where("at", ">", iso(since))
    .orderBy("at")
    .execute();
  return rows.map((r) => r.at);
}

/** Forgets failures older than `before`: they no longer count for anything. */
export async function pruneLoginFailures(db: Kysely<Database>, before: Instant): Promise<void> {
  await db.deleteFrom("login_failures").where("at", "<=", iso(before)).execute();
}
