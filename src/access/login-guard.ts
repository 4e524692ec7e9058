import { FernlinkError } from "../protocol/errors.js";
import { sourceKey } from "../protocol/source-key.js";
import { ConcurrencyLimit, type Release } from "../shared/concurrency-limit.js";
import { audit } from "./audit-log.js";
import type { AccessContext } from "./context.js";
import { raiseEvent, raiseInBackground } from "./notify-raise.js";
import { findAccountByName } from "./store/accounts.js";
import { inKeyedTransaction } from "./store/keyed-transaction.js";
import {
  forgetLoginAttempt,
  pruneLoginFailures,
  reserveLoginFailure,
  settleLoginFailure,
  sourceFailureTimes,
  userFailureCounts,
} from "./store/login-failures.js";
import type { Account, User } from "./store/schema.js";
import { findUserByName, setLockedUntilIf } from "./store/users.js";

/**
 * Limits on guessing. A user is locked for `lockMs` after the account policy's number of
 * failures within `windowMs`. A source address that failed `sourceFailures` times within
 * `windowMs` is refused ("throttled") before any password is checked (except a login with a
 * one-time code for a user with two-factor login), and those refusals are not recorded, so an attacker cycling through user names stops long before locking out
 * everyone, and a throttled attacker cannot keep a victim locked.
 *
 * Every attempt is counted as a failure before its password check starts (see
 * {@link reserveAttempt}), so attempts sent at once get what the same attempts sent one after
 * the other would. At most `checksPerSource` checks per source and `checks` in all run at once
 * (scrypt takes 32 MiB and a thread each); more are refused at once, to retry after
 * `busyRetrySeconds`, rather than queued behind everyone else's login.
 */
export const LOGIN_LIMITS = {
  windowMs: 15 * 60_000,
  lockMs: 30 * 60_000,
  sourceFailures: 10,
  /** A reserved attempt still unsettled after this long was cut short (a crash): a plain failure. */
  pendingMs: 60_000,
  checksPerSource: 2,
  checks: 4,
  busyRetrySeconds: 1,
} as const;

/** The limiter of concurrent password checks that {@link LOGIN_LIMITS} asks for. */
export function loginCheckLimit(): ConcurrencyLimit {
  return new ConcurrencyLimit({ perKey: LOGIN_LIMITS.checksPerSource, total: LOGIN_LIMITS.checks });
}

/**
 * `users.locked_until` holds the end of the user's last lock, or the moment the failure count
 * was last reset (an admin's unlock, a successful login). Failures before it never count, so a
 * lock that ran out or was lifted starts the count afresh.
 */
export function isLocked(user: User, now: Date): boolean {
  return user.locked_until !== null && Date.parse(user.locked_until) > now.getTime();
}

function inWords(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 120) return seconds === 1 ? "1 second" : `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

function throttledError(key: string, times: readonly string[], now: Date): FernlinkError {
  // The source is let in again when enough of its failures have aged out of the window.
  const freeing = times[times.length - LOGIN_LIMITS.sourceFailures]!;
  const retryMs = Date.parse(freeing) + LOGIN_LIMITS.windowMs - now.getTime();
  return new FernlinkError("throttled", `too many failed logins from ${key}; try again in ${inWords(retryMs)}`, {
    retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)),
  });
}

/** "throttled": too many password checks at once; `firstOfSpell` is false for repeats while still busy. */
export class ChecksBusyError extends FernlinkError {
  constructor(
    message: string,
    retryAfterSeconds: number,
    /** Only the first refusal of a busy spell is worth recording; the rest of a flood is not. */
    readonly firstOfSpell: boolean,
  ) {
    super("throttled", message, { retryAfterSeconds });
  }
}

/**
 * Takes a place among the password checks allowed at once, for the caller to release when its
 * check is over; throws {@link ChecksBusyError} when the source, or the server, has none left.
 */
export function takeCheckSlot(ctx: AccessContext, source: string): Release {
  const key = sourceKey(source);
  const { release, refusal } = ctx.loginChecks.tryAcquire(key);
  if (release) return release;
  const retryAfterSeconds = LOGIN_LIMITS.busyRetrySeconds;
  const who = refusal.full === "key" ? `from ${key}` : "on this server";
  throw new ChecksBusyError(`too many logins at once ${who}; try again in ${inWords(retryAfterSeconds * 1000)}`, retryAfterSeconds, refusal.first);
}

/** A login (or password or code check) about to be checked: by the names given, which may not exist. */
export interface Attempt {
  accountName: string;
  userName: string;
  source: string;
  now: Date;
  /** The attempt carries a one-time code: a throttled source lets it through for a user with two-factor login. */
  withOtp?: boolean;
}

/** An attempt counted as a failure before its check; settle it with one of the `settle…` functions. */
export interface Reservation {
  /** The `login_failures` row that stands for it. */
  id: string;
  attempt: Attempt;
  account: Account | undefined;
  user: User | undefined;
  /** Why the attempt fails whatever the password: the user is locked, or attempts still being checked would lock it. */
  blocked: string | undefined;
  /** The user's failures within the window (since the last reset) with this one. */
  failures: number;
  /** True when this attempt, failing, is the one that reaches the account's limit. */
  locksOnFailure: boolean;
  /** `users.locked_until` when reserved: a lock set later only if nothing changed it meanwhile. */
  lockedUntil: string | null;
}

/**
 * Counts an attempt as a failure before its check runs, in one transaction serialised with
 * every other attempt of the same source or user name (`inKeyedTransaction`). Throws
 * "throttled" when the source has `sourceFailures` failures already; reserved attempts count,
 * so a burst is cut off exactly where the same attempts one by one would be. Decides from the
 * attempts before it whether this one is blocked, or would lock the user when it fails.
 */
export async function reserveAttempt(ctx: AccessContext, attempt: Attempt): Promise<Reservation> {
  const { accountName, userName, now } = attempt;
  const key = sourceKey(attempt.source);
  const windowStart = now.getTime() - LOGIN_LIMITS.windowMs;
  const keys = [`login-source:${key}`, `login-user:${JSON.stringify([accountName, userName])}`];
  return inKeyedTransaction(ctx.db, keys, async (trx) => {
    const times = await sourceFailureTimes(trx, key, new Date(windowStart));
    const throttled = times.length >= LOGIN_LIMITS.sourceFailures;
    if (throttled && !attempt.withOtp) throw throttledError(key, times, now);
    const account = await findAccountByName(trx, accountName);
    const user = account ? await findUserByName(trx, account.id, userName) : undefined;
    // A throttled source (a plant's NAT, shared by everyone there) still lets in a two-factor
    // user who sends a code: password and code are checked together, and the user's own
    // lockout bounds guessing.
    if (throttled && user?.totp_enabled !== 1) throw throttledError(key, times, now);
    const resetAt = user?.locked_until ? Math.max(windowStart, Date.parse(user.locked_until)) : windowStart;
    // Counted for unknown users too, so the work done does not tell whether the user exists.
    const before = await userFailureCounts(trx, accountName, userName, new Date(resetAt), new Date(now.getTime() - LOGIN_LIMITS.pendingMs));
    const id = await reserveLoginFailure(trx, { accountName, userName, source: key, at: now });
    const limit = account && user ? account.lockout_after : Infinity;
    const settled = before.failures - before.pending;
    let blocked: string | undefined;
    if (user && isLocked(user, now)) blocked = `user locked until ${user.locked_until}`;
    // Only attempts still being checked can make up the limit: one of them may lock the user.
    else if (settled < limit && before.failures >= limit) blocked = `user locked: ${settled} failed logins and ${before.pending} still being checked`;
    return {
      id,
      attempt,
      account,
      user,
      blocked,
      failures: before.failures + 1,
      locksOnFailure: blocked === undefined && before.failures + 1 >= limit,
      lockedUntil: user?.locked_until ?? null,
    };
  });
}

/**
 * Settles an attempt whose check failed: it stays a failure, and locks the user when it was the
 * one reaching the limit (unless a success or an admin changed the user meanwhile). Returns the
 * lock's end, if it locked.
 */
export async function settleFailure(ctx: AccessContext, reservation: Reservation): Promise<string | undefined> {
  const { account, user, attempt } = reservation;
  let until: string | undefined;
  if (reservation.locksOnFailure && account && user) {
    until = new Date(ctx.now().getTime() + LOGIN_LIMITS.lockMs).toISOString();
    // Locked before the row is settled: an attempt reserved in between still sees it as pending.
    if (!(await setLockedUntilIf(ctx.db, user.id, reservation.lockedUntil, until))) until = undefined;
  }
  await settleLoginFailure(ctx.db, reservation.id);
  await pruneLoginFailures(ctx.db, new Date(attempt.now.getTime() - LOGIN_LIMITS.windowMs));
  if (until === undefined || !account || !user) return undefined;
  await audit(ctx, {
    accountId: account.id,
    actor: null,
    source: attempt.source,
    action: "user.lock",
    object: user.name,
    result: "ok",
    reason: `${reservation.failures} failed logins within ${LOGIN_LIMITS.windowMs / 60_000} minutes; locked until ${until}`,
  });
  raiseInBackground(ctx, () =>
    raiseEvent(ctx, {
      event: "login.locked",
      accountId: account.id,
      at: attempt.now,
      key: `locked:${user.id}:${until}`,
      summary: `user ${user.name} is locked until ${until} after ${reservation.failures} failed logins (last from ${attempt.source})`,
      details: { user: user.name, until, source: attempt.source },
    }),
  );
  return until;
}

/** Settles an attempt that succeeded: it counts for nothing, and the user's failure count starts afresh. */
export async function settleSuccess(ctx: AccessContext, reservation: Reservation): Promise<void> {
  await forgetLoginAttempt(ctx.db, reservation.id);
  // A success is never blocked, so never shortens a lock; nor does it undo one set meanwhile.
  if (reservation.user) await setLockedUntilIf(ctx.db, reservation.user.id, reservation.lockedUntil, ctx.now());
}

/** Withdraws an attempt that neither failed nor succeeded (a login that goes on to ask for a code); it counts for nothing. */
export async function cancelAttempt(ctx: AccessContext, reservation: Reservation): Promise<void> {
  await forgetLoginAttempt(ctx.db, reservation.id);
}
