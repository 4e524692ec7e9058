import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Account, Database, Session, User } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** A live session with the user and account it acts for. */
export interface ActiveSession {
  session: Session;
  user: User;
  account: Account;
}

/** Records a new login session; `tokenHash` is the hash of the bearer token, never the token. */
export async function createSession(
  db: Kysely<Database>,
  input: { userId: string; tokenHash: string; now: Instant; expiresAt: Instant; source?: string; kind?: "cli" | "portal" },
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
    source: input.source ?? null,
    kind: input.kind ?? null,
  };
  await db.insertInto("sessions").values(session).execute();
  return session;
}

/** The session behind a token hash with its user and account, unless revoked or expired at `now`. */
export async function findActiveSession(db: Kysely<Database>, tokenHash: string, now: Instant): Promise<ActiveSession | undefined> {
  const session = await db
    .selectFrom("sessions")
    .selectAll()
    .where("token_hash", "=", tokenHash)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", iso(now))
    .executeTakeFirst();
  if (session === undefined) return undefined;
  const user = await db.selectFrom("users").selectAll().where("id", "=", session.user_id).executeTakeFirst();
  if (user === undefined) return undefined;
  const account = await db.selectFrom("accounts").selectAll().where("id", "=", user.account_id).executeTakeFirst();
  return account === undefined ? undefined : { session, user, account };
}

/** Notes that the session was used at `now`. */
export async function touchSession(db: Kysely<Database>, id: string, now: Instant): Promise<void> {
  await db
    .updateTable("sessions")
    .set({ last_used_at: iso(now) })
    .where("id", "=", id)
    .execute();
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

/** Revokes every live session of a user except `keepId` (the one that asked); returns how many. */
export async function revokeUserSessions(db: Kysely<Database>, userId: string, keepId: string | null, now: Instant): Promise<number> {
  let query = db
    .updateTable("sessions")
    .set({ revoked_at: iso(now) })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null);
  if (keepId !== null) query = query.where("id", "!=", keepId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** A session of an account with the name of its user, as `session list` shows it. */
export type ListedSession = Session & { user_name: string };

/**
 * The account's sessions neither revoked nor past their end at `now`, or only `userId`'s,
 * oldest first. Idle ones are left to the caller, which knows the idle limit.
 */
export function listLiveSessions(db: Kysely<Database>, input: { accountId: string; userId?: string; now: Instant }): Promise<ListedSession[]> {
  let query = db
    .selectFrom("sessions")
    .innerJoin("users", "users.id", "sessions.user_id")
    .selectAll("sessions")
    .select("users.name as user_name")
    .where("users.account_id", "=", input.accountId)
    .where("sessions.revoked_at", "is", null)
    .where("sessions.expires_at", ">", iso(input.now));
  if (input.userId !== undefined) query = query.where("sessions.user_id", "=", input.userId);
  return query.orderBy("sessions.created_at").orderBy("sessions.id").execute();
}

/** The session with this id if it belongs to a user of the account. */
export function findAccountSession(db: Kysely<Database>, accountId: string, id: string): Promise<ListedSession | undefined> {
  return db
    .selectFrom("sessions")
    .innerJoin("users", "users.id", "sessions.user_id")
    .selectAll("sessions")
    .select("users.name as user_name")
    .where("users.account_id", "=", accountId)
    .where("sessions.id", "=", id)
    .executeTakeFirst();
}

/** What decides whether a session still holds: its end, last use and revocation. */
export type SessionState = Pick<Session, "id" | "expires_at" | "last_used_at" | "revoked_at">;

/** The states of the sessions with these ids; a session not returned no longer exists. */
export async function sessionStates(db: Kysely<Database>, ids: readonly string[]): Promise<SessionState[]> {
  const states: SessionState[] = [];
  for (let i = 0; i < ids.length; i += ID_BATCH) {
    const batch = ids.slice(i, i + ID_BATCH);
    states.push(...(await db.selectFrom("sessions").select(["id", "expires_at", "last_used_at", "revoked_at"]).where("id", "in", batch).execute()));
  }
  return states;
}

/** Ids per `in (…)` list, well below SQLite's and PostgreSQL's parameter limits. */
const ID_BATCH = 500;
