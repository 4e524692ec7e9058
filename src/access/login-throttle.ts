import type { Kysely } from "kysely";
import { sourceKey } from "../protocol/source-key.js";
import { LOGIN_LIMITS } from "./login-guard.js";
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
export async function clearLoginThrottle(db: Kysely<Database>, source: string | undefined): Promise<{ source: string | undefined; cleared: number }> {
  const key = source === undefined ? undefined : sourceKey(source);
  return { source: key, cleared: await clearSourceFailures(db, key) };
}
