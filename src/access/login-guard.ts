import { isIP } from "node:net";
import { FernlinkError } from "../shared/errors.js";
import { audit } from "./audit-log.js";
import type { AccessContext } from "./context.js";
import { countUserFailures, pruneLoginFailures, recordLoginFailure, sourceFailureTimes } from "./store/login-failures.js";
import type { Account, User } from "./store/schema.js";
import { setLockedUntil } from "./store/users.js";

/**
 * Limits on guessing. A user is locked for `lockMs` after the account policy's number of
 * failures within `windowMs`. A source address that failed `sourceFailures` times within
 * `windowMs` is refused ("throttled") before any password is checked, and those refusals are
 * not recorded, so an attacker cycling through user names stops long before locking out
 * everyone, and a throttled attacker cannot keep a victim locked.
 */
export const LOGIN_LIMITS = { windowMs: 15 * 60_000, lockMs: 30 * 60_000, sourceFailures: 10 } as const;

/**
 * `users.locked_until` holds the end of the user's last lock, or the moment the failure count
 * was last reset (an admin's unlock, a successful login). Failures before it never count, so a
 * lock that ran out or was lifted starts the count afresh.
 */
export function isLocked(user: User, now: Date): boolean {
  return user.locked_until !== null && Date.parse(user.locked_until) > now.getTime();
}

/**
 * What the throttle counts a source address as: an IPv4 address as itself (also when written
 * as `::ffff:a.b.c.d`), an IPv6 address as its /64, since one host commonly holds a whole /64.
 */
export function throttleKey(source: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(source);
  if (mapped) return mapped[1]!;
  if (isIP(source) !== 6) return source;
  const [head = "", tail] = source.toLowerCase().split("%")[0]!.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

function inWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 120) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** Throws "throttled" when `source` failed too often lately; the message says when to retry. */
export async function ensureSourceNotThrottled(ctx: AccessContext, source: string, now: Date): Promise<void> {
  const key = throttleKey(source);
  const times = await sourceFailureTimes(ctx.db, key, new Date(now.getTime() - LOGIN_LIMITS.windowMs));
  if (times.length < LOGIN_LIMITS.sourceFailures) return;
  // The source is let in again when enough of its failures have aged out of the window.
  const freeing = times[times.length - LOGIN_LIMITS.sourceFailures]!;
  const retryMs = Date.parse(freeing) + LOGIN_LIMITS.windowMs - now.getTime();
  throw new FernlinkError("throttled", `too many failed logins from ${key}; try again in ${inWords(retryMs)}`, {
    retryAfterSeconds: Math.ceil(retryMs / 1000),
  });
}

/** What failed: the names as given, and the account and user when they exist. */
export interface FailedAttempt {
  accountName: string;
  userName: string;
  account: Account | undefined;
  user: User | undefined;
  source: string;
  now: Date;
  /** False when the attempt must not count toward the user's lock (e.g. the user is already locked). */
  countsForUser: boolean;
}

/** Records a failure; locks the user when the policy's limit is reached. Returns the lock's end, if it locked. */
export async function recordFailure(ctx: AccessContext, attempt: FailedAttempt): Promise<string | undefined> {
  const { account, user, now } = attempt;
  await recordLoginFailure(ctx.db, { accountName: attempt.accountName, userName: attempt.userName, source: throttleKey(attempt.source), at: now });
  await pruneLoginFailures(ctx.db, new Date(now.getTime() - LOGIN_LIMITS.windowMs));
  if (!attempt.countsForUser) return undefined;
  const windowStart = now.getTime() - LOGIN_LIMITS.windowMs;
  const resetAt = user?.locked_until ? Math.max(windowStart, Date.parse(user.locked_until)) : windowStart;
  // Counted for unknown users too, so the work done does not tell whether the user exists.
  const failures = await countUserFailures(ctx.db, attempt.accountName, attempt.userName, new Date(resetAt));
  if (!account || !user || failures < account.lockout_after) return undefined;
  const until = new Date(now.getTime() + LOGIN_LIMITS.lockMs).toISOString();
  await setLockedUntil(ctx.db, user.id, until);
  await audit(ctx, {
    accountId: account.id,
    actor: null,
    source: attempt.source,
    action: "user.lock",
    object: user.name,
    result: "ok",
    reason: `${failures} failed logins within ${LOGIN_LIMITS.windowMs / 60_000} minutes; locked until ${until}`,
  });
  return until;
}

/** Starts the user's failure count afresh (after a successful login); never shortens a lock. */
export async function resetFailures(ctx: AccessContext, user: User, now: Date): Promise<void> {
  if (isLocked(user, now)) return;
  await setLockedUntil(ctx.db, user.id, now);
}
