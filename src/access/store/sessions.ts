import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Account, Database, Session, User } from "./schema.js";
import { iso } from "./time.js";
import type { Instant } from "./time.js";

/** A live session with the user and account it acts for. */
export interface ActiveSession {
  session: Session;
  user: User;
  account: Account;
}

/** Records a new login session; `tokenHash` is the hash of the bearer token, never the token. */
export async function createSession(
  db: Kysely<Database>,
  input: { userId: string; tokenHash: string; now: Instant; expiresAt: Instant },
): Promise<Session> {
  const now = iso(input.now);
  const session: Session = {
    id: randomUUID(),
    user_id: input.userId,
    token_hash: input.tokenHash,
    created_at: now,
    expires_at: iso(input.expiresAt),
    last_used_at: now,
    revoked_at: null,
  };
  await db.insertInto("sessions").values(session).execute();
  return session;
}

/** The session for `tokenHash` unless it is revoked or expired at `now`, with its user and account. */
export async function findActiveSession(
  db: Kysely<Database>,
  tokenHash: string,
  now: Instant,
): Promise<ActiveSession | undefined> {
  const row = await db
    .selectFrom("sessions")
    .innerJoin("users", "users.id", "sessions.user_id")
    .innerJoin("accounts", "accounts.id", "users.account_id")
    .select([
      "sessions.id as session_id",
      "sessions.user_id",
      "sessions.token_hash",
      "sessions.created_at as session_created_at",
      "sessions.expires_at",
      "sessions.last_used_at",
      "sessions.revoked_at",
      "users.account_id",
      "users.name as user_name",
      "users.password_hash",
      "users.role",
      "users.created_at as user_created_at",
      "accounts.name as account_name",
      "accounts.created_at as account_created_at",
    ])
    .where("sessions.token_hash", "=", tokenHash)
    .where("sessions.revoked_at", "is", null)
    .where("sessions.expires_at", ">", iso(now))
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    session: {
      id: row.session_id,
      user_id: row.user_id,
      token_hash: row.token_hash,
      created_at: row.session_created_at,
      expires_at: row.expires_at,
      last_used_at: row.last_used_at,
      revoked_at: row.revoked_at,
    },
    user: {
      id: row.user_id,
      account_id: row.account_id,
      name: row.user_name,
      password_hash: row.password_hash,
      role: row.role,
      created_at: row.user_created_at,
    },
    account: { id: row.account_id, name: row.account_name, created_at: row.account_created_at },
  };
}

/** Notes that the session was used at `now`. */
export async function touchSession(db: Kysely<Database>, id: string, now: Instant): Promise<void> {
  await db.updateTable("sessions").set({ last_used_at: iso(now) }).where("id", "=", id).execute();
}

/** Revokes the session; a session already revoked keeps its first revocation time. */
export async function revokeSession(db: Kysely<Database>, id: string, now: Instant): Promise<void> {
  await db
    .updateTable("sessions")
    .set({ revoked_at: iso(now) })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .execute();
}
