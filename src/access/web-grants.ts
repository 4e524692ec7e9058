import type { KeyObject } from "node:crypto";
import type { Kysely } from "kysely";
import { GRANT_TTL_MS, type GrantSubject, LAUNCH_CODE_TTL_MS, MAX_GRANTS, MAX_PER_SESSION, type WebGrants } from "../protocol/web-grants.js";
import { openSecret, sealSecret } from "./secret-box.js";
import { hashSecret, randomSecret } from "./secret-token.js";
import type { Database } from "./store/schema.js";
import { consumeLaunchCode, deleteGrant, deleteSessionGrants, findGrant, insertWebGrant, type WebGrantCaps } from "./store/web-grants.js";

/** How long a node trusts a grant it has read from the store without reading it again. */
export const GRANT_CACHE_MS = 5_000;
/** Grants a node keeps read; beyond, the oldest read is forgotten. */
export const GRANT_CACHE_ENTRIES = 5_000;

/** What the stored grants need: the store, the secret key that seals session tokens, a clock. */
export interface StoredWebGrantsOptions {
  db: Kysely<Database>;
  secretKey: KeyObject;
  now?: () => number;
  caps?: WebGrantCaps;
}

interface Cached extends GrantSubject {
  sessionHash: string;
  /** The grant's own end. */
  expiresAt: number;
  /** When this node reads it again. */
  freshUntil: number;
}

/**
 * Launch codes and grants in the store, so that a code issued by one access node is redeemed
 * on another and every node serves every HMI host.
 *
 * Each HMI request looks up its grant, so a node keeps what it read for a few seconds
 * ({@link GRANT_CACHE_MS}, at most {@link GRANT_CACHE_ENTRIES}). That is safe because a grant
 * is never the last word: every request also checks the session behind it and the web target
 * (the proxy's `resolve`), which decide on their own whether the session ended or the target
 * is gone. A grant revoked on another node thus lives on here for at most those seconds, and
 * only as long as its session and target still hold; revocation on this node, and the
 * grant's expiry, take effect at once.
 */
export function createStoredWebGrants(options: StoredWebGrantsOptions): WebGrants {
  const { db, secretKey } = options;
  const now = options.now ?? Date.now;
  const caps = options.caps ?? { perSession: MAX_PER_SESSION, total: MAX_GRANTS };
  const cache = new Map<string, Cached>();

  const context = (tokenHash: string) => `web-grant:${tokenHash}`;

  async function issue(kind: "launch" | "grant", subject: GrantSubject, path: string | null, ttlMs: number): Promise<string> {
    const token = randomSecret(24);
    const tokenHash = hashSecret(token);
    const at = now();
    await insertWebGrant(
      db,
      {
        kind,
        tokenHash,
        sessionHash: hashSecret(subject.sessionToken),
        sealedSession: sealSecret(secretKey, subject.sessionToken, context(tokenHash)),
        targetId: subject.targetId,
        path,
        reason: subject.reason ?? null,
        now: new Date(at),
        expiresAt: new Date(at + ttlMs),
      },
      caps,
    );
    return token;
  }

  async function read(grant: string): Promise<Cached | undefined> {
    const at = now();
    const tokenHash = hashSecret(grant);
    const hit = cache.get(tokenHash);
    if (hit && hit.freshUntil > at && hit.expiresAt > at) return hit;
    cache.delete(tokenHash);
    const row = await findGrant(db, tokenHash, new Date(at));
    if (!row) return undefined;
    const entry: Cached = {
      sessionToken: openSecret(secretKey, row.sealedSession, context(tokenHash)),
      targetId: row.targetId,
      ...(row.reason !== null ? { reason: row.reason } : {}),
      sessionHash: row.sessionHash,
      expiresAt: Date.parse(row.expiresAt),
      freshUntil: at + GRANT_CACHE_MS,
    };
    if (cache.size >= GRANT_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(tokenHash, entry);
    return entry;
  }

  return {
    issueLaunchCode: (subject) => issue("launch", subject, subject.path, LAUNCH_CODE_TTL_MS),

    async redeem(code, targetId) {
      const tokenHash = hashSecret(code);
      const row = await consumeLaunchCode(db, tokenHash, new Date(now()));
      // A code brought to another target's host is burnt all the same.
      if (!row || row.targetId !== targetId) return undefined;
      const sessionToken = openSecret(secretKey, row.sealedSession, context(tokenHash));
      const grant = await issue("grant", { sessionToken, targetId, ...(row.reason !== null ? { reason: row.reason } : {}) }, null, GRANT_TTL_MS);
      return { grant, path: row.path ?? "/" };
    },

    async lookup(grant, targetId) {
      const entry = await read(grant);
      if (!entry || entry.targetId !== targetId) return undefined;
      return { sessionToken: entry.sessionToken, targetId: entry.targetId, ...(entry.reason !== undefined ? { reason: entry.reason } : {}) };
    },

    async holds(grant) {
      return (await read(grant)) !== undefined;
    },

    async revoke(grant) {
      const tokenHash = hashSecret(grant);
      cache.delete(tokenHash);
      await deleteGrant(db, tokenHash);
    },

    async endSession(sessionToken) {
      const sessionHash = hashSecret(sessionToken);
      for (const [key, entry] of cache) if (entry.sessionHash === sessionHash) cache.delete(key);
      await deleteSessionGrants(db, sessionHash);
    },
  };
}
