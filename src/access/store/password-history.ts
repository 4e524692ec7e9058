import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** Remembers a password hash the user had, then keeps only the newest `keep` of them. */
export async function rememberPassword(db: Kysely<Database>, userId: string, passwordHash: string, now: Instant, keep: number): Promise<void> {
  if (keep > 0) {
    await db
      .insertInto("password_history")
      .values({ id: randomUUID(), user_id: userId, password_hash: passwordHash, created_at: iso(now) })
      .execute();
  }
  const stale = await db
    .selectFrom("password_history")
    .select("id")
    .where("user_id", "=", userId)
    .orderBy("created_at", "desc")
    .orderBy("id")
    // SQLite needs a LIMIT with an OFFSET; the history never grows past a few dozen rows.
    .limit(1_000)
    .offset(Math.max(0, keep))
    .execute();
  if (stale.length > 0)
    await db
      .deleteFrom("password_history")
      .where(
        "id",
        "in",
        stale.map((r) => r.id),
      )
      .execute();
}

/** The hashes of the user's `limit` most recent earlier passwords, newest first. */
export async function earlierPasswords(db: Kysely<Database>, userId: string, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const rows = await db
    .selectFrom("password_history")
    .select("password_hash")
    .where("user_id", "=", userId)
    .orderBy("created_at", "desc")
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map((r) => r.password_hash);
}
