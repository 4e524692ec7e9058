import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** One failed login: by the names given (which may not exist) and the source address. */
export interface LoginFailure {
  accountName: string;
  userName: string;
  source: string;
  at: Instant;
}

/** Records a failed login. */
export async function recordLoginFailure(db: Kysely<Database>, failure: LoginFailure): Promise<void> {
  await insertFailure(db, failure, 0);
}

/**
 * Records an attempt whose check is about to run as a pending failure, and returns its id: it
 * counts as a failure from now on, until {@link settleLoginFailure} or {@link forgetLoginAttempt}.
 */
export function reserveLoginFailure(db: Kysely<Database>, attempt: LoginFailure): Promise<string> {
  return insertFailure(db, attempt, 1);
}

async function insertFailure(db: Kysely<Database>, failure: LoginFailure, pending: 0 | 1): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto("login_failures")
    .values({ id, account_name: failure.accountName, user_name: failure.userName, source: failure.source, at: iso(failure.at), pending })
    .execute();
  return id;
}

/** Turns a reserved attempt into a failure: its check failed. */
export async function settleLoginFailure(db: Kysely<Database>, id: string): Promise<void> {
  await db.updateTable("login_failures").set({ pending: 0 }).where("id", "=", id).execute();
}

/** Removes a reserved attempt that did not fail (the login succeeded, or stopped to ask for a code). */
export async function forgetLoginAttempt(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom("login_failures").where("id", "=", id).execute();
}

/** Failures of one account/user name pair after `since`, reserved attempts included. */
export async function countUserFailures(db: Kysely<Database>, accountName: string, userName: string, since: Instant): Promise<number> {
  return (await userFailureCounts(db, accountName, userName, since, since)).failures;
}

/** What one account/user name pair failed after `since`: all failures, and those still being checked. */
export interface UserFailureCounts {
  /** Failures and reserved attempts. */
  failures: number;
  /** Of those, attempts reserved after `pendingSince` whose check has not ended. */
  pending: number;
}

/** Counts the failures of one account/user name pair after `since`; see {@link UserFailureCounts}. */
export async function userFailureCounts(
  db: Kysely<Database>,
  accountName: string,
  userName: string,
  since: Instant,
  pendingSince: Instant,
): Promise<UserFailureCounts> {
  const row = await db
    .selectFrom("login_failures")
    .select((eb) => [
      eb.fn.countAll<number>().as("n"),
      eb.fn
        .sum<number | null>(
          eb
            .case()
            .when(eb.and([eb("pending", "=", 1), eb("at", ">", iso(pendingSince))]))
            .then(1)
            .else(0)
            .end(),
        )
        .as("pending"),
    ])
    .where("account_name", "=", accountName)
    .where("user_name", "=", userName)
    .where("at", ">", iso(since))
    .executeTakeFirstOrThrow();
  return { failures: Number(row.n), pending: Number(row.pending ?? 0) };
}

/** The times of the failures (reserved attempts included) from one source after `since`, oldest first. */
export async function sourceFailureTimes(db: Kysely<Database>, source: string, since: Instant): Promise<string[]> {
  const rows = await db.selectFrom("login_failures").select("at").where("source", "=", source).where("at", ">", iso(since)).orderBy("at").execute();
  return rows.map((r) => r.at);
}

/** Forgets failures older than `before`: they no longer count for anything. */
export async function pruneLoginFailures(db: Kysely<Database>, before: Instant): Promise<void> {
  await db.deleteFrom("login_failures").where("at", "<=", iso(before)).execute();
}

/** Failures per source after `since` (reserved attempts included): how many and the latest, most first. */
export async function sourceFailureCounts(db: Kysely<Database>, since: Instant): Promise<{ source: string; failures: number; last: string }[]> {
  const rows = await db
    .selectFrom("login_failures")
    .select(({ fn }) => ["source", fn.countAll<number>().as("n"), fn.max("at").as("last")])
    .where("at", ">", iso(since))
    .groupBy("source")
    .execute();
  return rows
    .map((r) => ({ source: r.source, failures: Number(r.n), last: r.last }))
    .sort((a, b) => b.failures - a.failures || a.source.localeCompare(b.source));
}

/** Forgets the failures of one source, or of every source; returns how many were forgotten. */
export async function clearSourceFailures(db: Kysely<Database>, source: string | undefined): Promise<number> {
  let query = db.deleteFrom("login_failures");
  if (source !== undefined) query = query.where("source", "=", source);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}
