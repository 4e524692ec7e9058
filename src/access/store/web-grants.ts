import type { Kysely } from "kysely";
import { inKeyedTransaction } from "./keyed-transaction.js";
import type { Database, WebGrantKind } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** A launch code or grant as stored: hashes and the sealed session token, never the raw values. */
export interface NewWebGrant {
  kind: WebGrantKind;
  tokenHash: string;
  sessionHash: string;
  sealedSession: string;
  targetId: string;
  path: string | null;
  reason: string | null;
  now: Instant;
  expiresAt: Instant;
}

/** A stored launch code or grant. */
export interface StoredWebGrant {
  sessionHash: string;
  sealedSession: string;
  targetId: string;
  path: string | null;
  reason: string | null;
  expiresAt: string;
}

/** How many codes, or grants, may be held per session and in all. */
export interface WebGrantCaps {
  perSession: number;
  total: number;
}

/** Every insert takes this one lock: issuing is a click, rare enough to serialise, and the caps then hold exactly. */
const LOCK_KEY = "web-grants";

/**
 * Stores a code or grant within the caps: expired ones of its kind go first, then the
 * session's oldest beyond `perSession - 1`, then the oldest of all beyond `total - 1`.
 */
export async function insertWebGrant(db: Kysely<Database>, grant: NewWebGrant, caps: WebGrantCaps): Promise<void> {
  await inKeyedTransaction(db, [LOCK_KEY], async (trx) => {
    await trx.deleteFrom("web_grants").where("kind", "=", grant.kind).where("expires_at", "<=", iso(grant.now)).execute();
    await trx
      .deleteFrom("web_grants")
      .where("seq", "in", (eb) =>
        eb
          .selectFrom("web_grants")
          .select("seq")
          .where("kind", "=", grant.kind)
          .where("session_hash", "=", grant.sessionHash)
          .orderBy("seq", "desc")
          .offset(caps.perSession - 1)
          // SQLite takes OFFSET only with a LIMIT.
          .limit(Number.MAX_SAFE_INTEGER),
      )
      .execute();
    const held = await trx
      .selectFrom("web_grants")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("kind", "=", grant.kind)
      .executeTakeFirstOrThrow();
    const over = Number(held.n) - (caps.total - 1);
    if (over > 0) {
      await trx
        .deleteFrom("web_grants")
        .where("seq", "in", (eb) => eb.selectFrom("web_grants").select("seq").where("kind", "=", grant.kind).orderBy("seq").limit(over))
        .execute();
    }
    await trx
      .insertInto("web_grants")
      .values({
        token_hash: grant.tokenHash,
        kind: grant.kind,
        session_hash: grant.sessionHash,
        session_token: grant.sealedSession,
        target_id: grant.targetId,
        path: grant.path,
        reason: grant.reason,
        created_at: iso(grant.now),
        expires_at: iso(grant.expiresAt),
      })
      .execute();
  });
}

/**
 * Takes a launch code out of the store, whatever it was brought for: one DELETE … RETURNING,
 * so of any number of nodes redeeming one code at once exactly one gets it. Undefined when it
 * does not exist or has expired at `now`.
 */
export async function consumeLaunchCode(db: Kysely<Database>, tokenHash: string, now: Instant): Promise<StoredWebGrant | undefined> {
  const row = await db
    .deleteFrom("web_grants")
    .where("token_hash", "=", tokenHash)
    .where("kind", "=", "launch")
    .returning(["session_hash", "session_token", "target_id", "path", "reason", "expires_at"])
    .executeTakeFirst();
  return row === undefined || row.expires_at <= iso(now) ? undefined : stored(row);
}

/** The grant with this hash while it lasts at `now`. */
export async function findGrant(db: Kysely<Database>, tokenHash: string, now: Instant): Promise<StoredWebGrant | undefined> {
  const row = await db
    .selectFrom("web_grants")
    .select(["session_hash", "session_token", "target_id", "path", "reason", "expires_at"])
    .where("token_hash", "=", tokenHash)
    .where("kind", "=", "grant")
    .where("expires_at", ">", iso(now))
    .executeTakeFirst();
  return row === undefined ? undefined : stored(row);
}

/** Removes one grant. */
export async function deleteGrant(db: Kysely<Database>, tokenHash: string): Promise<void> {
  await db.deleteFrom("web_grants").where("token_hash", "=", tokenHash).where("kind", "=", "grant").execute();
}

/** Removes every code and grant of a session; returns how many. */
export async function deleteSessionGrants(db: Kysely<Database>, sessionHash: string): Promise<number> {
  const result = await db.deleteFrom("web_grants").where("session_hash", "=", sessionHash).executeTakeFirst();
  return Number(result.numDeletedRows);
}

function stored(row: {
  session_hash: string;
  session_token: string;
  target_id: string;
  path: string | null;
  reason: string | null;
  expires_at: string;
}): StoredWebGrant {
  return {
    sessionHash: row.session_hash,
    sealedSession: row.session_token,
    targetId: row.target_id,
    path: row.path,
    reason: row.reason,
    expiresAt: row.expires_at,
  };
}
