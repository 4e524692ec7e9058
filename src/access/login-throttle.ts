import type { KeyObject } from "node:crypto";
import type { Kysely } from "kysely";
import { sourceKey } from "../protocol/source-key.js";
import type { AuditAction } from "./audit-actions.js";
import { LOGIN_LIMITS } from "./login-guard.js";
import { appendAudit } from "./store/audit.js";
import { clearSourceFailures, sourceFailureCounts } from "./store/login-failures.js";
import type { Database } from "./store/schema.js";

/** One source address with failed logins in the window, and whether it is refused now. */
export interface ThrottledSource {
  source: string;
  failures: number;
  last: string;
  throttled: boolean;
}

/** The sources with failed logins within the window, most failures first (`fernlink login-throttle list`). */
export async function listLoginThrottle(db: Kysely<Database>, now: Date): Promise<ThrottledSource[]> {
  const rows = await sourceFailureCounts(db, new Date(now.getTime() - LOGIN_LIMITS.windowMs));
  return rows.map((r) => ({ ...r, throttled: r.failures >= LOGIN_LIMITS.sourceFailures }));
}

/**
 * Lifts the throttle of one source address (an IPv6 address counts by its /64), or of every
 * source: its failures are forgotten. Users' own lockouts stay (`fernlink user unlock`).
 */
export async function clearLoginThrottle(
  db: Kysely<Database>,
  source: string | undefined,
  record: ThrottleClearRecord,
): Promise<{ source: string | undefined; cleared: number }> {
  const key = source === undefined ? undefined : sourceKey(source);
  return db.transaction().execute(async (trx) => {
    const cleared = await clearSourceFailures(trx, key);
    // In the system chain: the throttle belongs to no account, and lifting it is a security decision.
    await appendAudit(trx, record.auditKey, {
      at: record.now,
      actor: record.operator,
      action: "login-throttle.clear" satisfies AuditAction,
      object: key ?? "every source",
      result: "ok",
      reason: `${cleared} failed login(s) forgotten`,
    });
    return { source: key, cleared };
  });
}

/** Who cleared a throttle, and the key that chains the record. */
export interface ThrottleClearRecord {
  auditKey: KeyObject;
  /** The operator's login on the host (the command reads the store directly, with no Fernlink session). */
  operator: string;
  now: Date;
}
