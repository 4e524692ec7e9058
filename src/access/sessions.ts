import type { LoginRequest, LoginResponse, SessionRestriction } from "../protocol/api.js";
import { FernlinkError } from "../protocol/errors.js";
import type { Release } from "../shared/concurrency-limit.js";
import { accessChanged } from "./access-changes.js";
import { accountDisabledError, ensureAccountEnabled, isAccountDisabled } from "./account-state.js";
import { API_TOKEN_PREFIX, authenticateApiToken } from "./api-tokens.js";
import { audit } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { ChecksBusyError, cancelAttempt, type Reservation, reserveAttempt, settleFailure, settleSuccess, takeCheckSlot } from "./login-guard.js";
import { dummyHash, hashPassword, verifyPassword } from "./password.js";
import { checkPasswordRules, DEFAULT_POLICY, passwordExpired, policyOf } from "./password-policy.js";
import { hashSecret, randomSecret } from "./secret-token.js";
import { SESSION_IDLE_MS, SESSION_TTL_MS, TOUCH_INTERVAL_MS } from "./session-times.js";
import { createAccount, findAccountByName } from "./store/accounts.js";
import type { Account, User } from "./store/schema.js";
import { type ActiveSession, createSession, findActiveSession, revokeSession, touchSession } from "./store/sessions.js";
import { consumeTotpStep, createUser, findUserByName } from "./store/users.js";
import { checkTotp } from "./totp.js";
import { openTotpSecret } from "./totp-secrets.js";

/** Creates an account with its first admin, or does nothing when both already exist. */
export async function initAccount(ctx: AccessContext, input: { account: string; user: string; password: string }): Promise<"created" | "exists"> {
  const existing = await findAccountByName(ctx.db, input.account);
  if (existing && (await findUserByName(ctx.db, existing.id, input.user))) return "exists";
  checkPasswordRules(input.password, existing ? policyOf(existing) : DEFAULT_POLICY, { account: input.account, user: input.user });
  const passwordHash = await hashPassword(input.password);
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now().toISOString();
    const account = existing ?? (await createAccount(trx, { name: input.account, now }));
    await createUser(trx, { accountId: account.id, name: input.user, passwordHash, role: "admin", now });
  });
  await audit(ctx, {
    accountId: (await findAccountByName(ctx.db, input.account))?.id ?? null,
    actor: "server",
    source: "cli",
    action: "account.init",
    object: `${input.account}/${input.user}`,
    result: "ok",
  });
  return "created";
}

/** What a session of this user may do only, if anything, under the account's policy right now. */
export function sessionRestriction(account: Account, user: User, now: Date): SessionRestriction | undefined {
  const policy = policyOf(account);
  if (user.must_change_password === 1) return "password-change-required";
  if (passwordExpired(policy, user.password_changed_at, now)) return "password-expired";
  if (policy.requireOtp && user.totp_enabled !== 1) return "otp-enrollment-required";
  return undefined;
}

/** The error a restricted session gets for everything it may not do. */
export function restrictionError(restriction: SessionRestriction): FernlinkError {
  switch (restriction) {
    case "password-expired":
      return new FernlinkError("password-expired", "your password has expired; run fernlink passwd to choose a new one");
    case "password-change-required":
      return new FernlinkError("password-change-required", "you must change your password: fernlink user passwd");
    case "otp-enrollment-required":
      return new FernlinkError("otp-enrollment-required", "the account requires one-time codes and you have none yet; run fernlink otp enable");
  }
}

/** The refusal of a user an admin locked, told only to whoever gave the right password. */
export function adminLockedError(userName: string): FernlinkError {
  return new FernlinkError("user-locked", `user "${userName}" is locked by an admin of the account; ask an admin to run: fernlink user unlock ${userName}`);
}

/** Why a password-correct login still fails on its one-time code, or undefined when it passes. */
async function otpFailure(ctx: AccessContext, user: User, code: string | undefined, now: Date): Promise<string | undefined> {
  if (user.totp_enabled !== 1 || user.totp_secret === null) return undefined;
  if (code === undefined) return "one-time code missing";
  const check = checkTotp(openTotpSecret(ctx.secretKey, user.id, user.totp_secret), code, now, user.totp_last_step);
  if (!check.ok) return check.reason === "replayed" ? "one-time code already used" : "wrong one-time code";
  // The conditional update settles a race between two logins with the same code.
  return (await consumeTotpStep(ctx.db, user.id, check.step)) ? undefined : "one-time code already used";
}

function newSessionToken(): string {
  // A session token never looks like an API token, so authenticate() can tell them apart.
  for (;;) {
    const token = randomSecret(32);
    if (!token.startsWith(API_TOKEN_PREFIX)) return token;
  }
}

/**
 * Exchanges a password (and one-time code) for a session token. Every failure gets the same
 * "login-failed" error, whether the account or user exists, the user is locked or the code
 * was wrong; the audit records the real reason. The one exception is the second step of a
 * two-step sign-in: the right password of a user with one-time codes, sent without a code,
 * answers "otp-required" (as every two-factor sign-in does); the code is what then protects.
 * Refused with "throttled" before any check: a source with too many failures lately, or with
 * too many checks running at once (see login-guard.ts).
 */
export async function login(ctx: AccessContext, input: LoginRequest, source: string, kind: "cli" | "portal" = "cli"): Promise<LoginResponse> {
  let release: Release;
  let reservation: Reservation;
  try {
    release = takeCheckSlot(ctx, source);
  } catch (err) {
    // A flood is recorded by its first refusal: one audit write per refused request would let
    // the flood load the database it is refused to spare.
    if (err instanceof ChecksBusyError && !err.firstOfSpell) throw err;
    throw await refused(ctx, input, source, err);
  }
  try {
    reservation = await reserveAttempt(ctx, { accountName: input.account, userName: input.user, source, now: ctx.now(), withOtp: input.otp !== undefined });
  } catch (err) {
    release();
    throw await refused(ctx, input, source, err);
  }
  try {
    return await checkLogin(ctx, input, source, reservation, kind);
  } finally {
    release();
  }
}

/** Audits a login refused before its check (throttled) and returns the error to throw. */
async function refused(ctx: AccessContext, input: LoginRequest, source: string, err: unknown): Promise<unknown> {
  // Recorded in the account tried (if it exists), so its admins see the attack.
  const tried = await findAccountByName(ctx.db, input.account);
  const reason = err instanceof Error ? err.message : String(err);
  await audit(ctx, {
    accountId: tried?.id ?? null,
    actor: input.user,
    source,
    action: "login",
    object: `${input.account}/${input.user}`,
    result: "denied",
    reason,
  });
  return err;
}

/** The password check and what follows it, for a reserved attempt. */
async function checkLogin(ctx: AccessContext, input: LoginRequest, source: string, reservation: Reservation, kind: "cli" | "portal"): Promise<LoginResponse> {
  const { account, user, attempt } = reservation;
  const now = attempt.now;
  const object = `${input.account}/${input.user}`;
  // Always run the KDF, so response time does not reveal unknown accounts, users or locks.
  const passwordOk = await verifyPassword(input.password, user?.password_hash ?? (await dummyHash()));
  let reason: string | undefined;
  if (!account) reason = "unknown account";
  else if (!user) reason = "unknown user";
  else if (reservation.blocked !== undefined) reason = reservation.blocked;
  else if (!passwordOk) reason = "wrong password";
  else if (account && user.admin_locked_at !== null) {
    // The right password of a user an admin locked: not a guess, so no failure counted, and
    // whoever knows the password may learn why it does not work.
    await cancelAttempt(ctx, reservation);
    await audit(ctx, { accountId: account.id, actor: user.name, source, action: "login", object, result: "denied", reason: "user locked by an admin" });
    throw adminLockedError(user.name);
  } else reason = await otpFailure(ctx, user, input.otp, now);
  if (reason === "one-time code missing" && account && user) {
    // The password was right: ask for the code (the second step of a two-step sign-in); no failure counted.
    await cancelAttempt(ctx, reservation);
    await audit(ctx, { accountId: account.id, actor: user.name, source, action: "login", object, result: "denied", reason });
    throw new FernlinkError("otp-required", "this user signs in with a one-time code: enter the code from the authenticator app (fernlink login --otp CODE)");
  }
  if (reason !== undefined || !account || !user) {
    const lockedUntil = await settleFailure(ctx, reservation);
    await audit(ctx, {
      accountId: account?.id ?? null,
      actor: input.user,
      source,
      action: "login",
      object,
      result: "denied",
      reason: reason ?? "unknown user",
    });
    if (lockedUntil) ctx.log.warn("user locked after failed logins", { account: input.account, user: input.user, until: lockedUntil });
    throw new FernlinkError("login-failed", "login failed: wrong account, user, password or one-time code (or the user is locked; an admin can unlock it)");
  }
  if (isAccountDisabled(account)) {
    // Said only after the right password, so a stranger learns nothing of the account's state.
    await cancelAttempt(ctx, reservation);
    await audit(ctx, { accountId: account.id, actor: user.name, source, action: "login", object, result: "denied", reason: "account disabled" });
    throw accountDisabledError();
  }
  await settleSuccess(ctx, reservation);
  const token = newSessionToken();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS).toISOString();
  await createSession(ctx.db, { userId: user.id, tokenHash: hashSecret(token), now, expiresAt, source, kind });
  const restriction = sessionRestriction(account, user, now);
  await audit(ctx, {
    accountId: account.id,
    actor: user.name,
    source,
    action: "login",
    object,
    result: "ok",
    reason: restriction ? `session restricted: ${restriction}` : null,
  });
  return { token, expiresAt, account: account.name, user: user.name, ...(restriction ? { restriction } : {}) };
}

/** What a request accepts besides a full session: the restrictions of the routes that fix them. */
export interface AuthenticateOptions {
  allow?: readonly SessionRestriction[];
  /** False for background checks (an open event stream) that must not keep an idle session alive. */
  touch?: boolean;
}

/**
 * Resolves a bearer token (a session token, or an API token with its `flk_` prefix) to its
 * principal, or throws "unauthenticated". A restricted session is refused with its own code
 * unless `options.allow` lists the restriction.
 */
export async function authenticate(ctx: AccessContext, token: string | undefined, source: string, options: AuthenticateOptions = {}): Promise<Principal> {
  if (!token) throw notLoggedIn();
  if (token.startsWith(API_TOKEN_PREFIX)) return authenticateApiToken(ctx, token, source);
  const found = await findActiveSession(ctx.db, hashSecret(token), ctx.now());
  if (!found) throw sessionEnded();
  return sessionPrincipal(ctx, found, source, options);
}

/** The refusal of a request without a token. */
export function notLoggedIn(): FernlinkError {
  return new FernlinkError("unauthenticated", "not logged in; run: fernlink login");
}

/** The refusal of a session token that is unknown, past its end or revoked. */
export function sessionEnded(): FernlinkError {
  return new FernlinkError("unauthenticated", "the session has expired or was ended; run: fernlink login");
}

/**
 * The principal of a session that is neither revoked nor past its end (as the store found it,
 * or the stream cache's copy): refused when idle, touched at most once per TOUCH_INTERVAL_MS,
 * refused with its restriction unless `options.allow` lists it.
 */
export async function sessionPrincipal(ctx: AccessContext, found: ActiveSession, source: string, options: AuthenticateOptions = {}): Promise<Principal> {
  ensureAccountEnabled(found.account);
  const now = ctx.now();
  // `last_used_at` may lag the real last use by up to TOUCH_INTERVAL_MS, so the idle limit
  // allows that much more: a session used within the last 2 hours never counts as idle.
  const idleMs = now.getTime() - Date.parse(found.session.last_used_at);
  if (idleMs > SESSION_IDLE_MS + TOUCH_INTERVAL_MS) {
    throw new FernlinkError("unauthenticated", "the session ended after 2 hours without use; run: fernlink login");
  }
  // One write per minute is enough to know a session is in use; not one per stream.
  if (idleMs > TOUCH_INTERVAL_MS && options.touch !== false) {
    // Moved first, so a cached copy in step with the store is not touched again by the next streams.
    found.session.last_used_at = now.toISOString();
    await touchSession(ctx.db, found.session.id, now);
  }
  // Locking revokes the user's sessions; this also covers a copy the stream cache still holds.
  if (found.user.admin_locked_at !== null) throw adminLockedError(found.user.name);
  const restriction = sessionRestriction(found.account, found.user, now);
  if (restriction && !(options.allow ?? []).includes(restriction)) throw restrictionError(restriction);
  return {
    accountId: found.account.id,
    accountName: found.account.name,
    userId: found.user.id,
    userName: found.user.name,
    role: found.user.role,
    sessionId: found.session.id,
    expiresAt: found.session.expires_at,
    source,
    ...(restriction ? { restriction } : {}),
  };
}

/** Ends the caller's session. */
export async function logout(ctx: AccessContext, who: Principal): Promise<void> {
  if (who.tokenName !== undefined) {
    throw new FernlinkError("invalid-input", `API token "${who.tokenName}" is not a session; an admin revokes it with: fernlink token revoke ${who.tokenName}`);
  }
  await revokeSession(ctx.db, who.sessionId, ctx.now().toISOString());
  await accessChanged(ctx, who.accountId);
  await audit(ctx, {
    accountId: who.accountId,
    actor: who.userName,
    source: who.source,
    action: "logout",
    object: `${who.accountName}/${who.userName}`,
    result: "ok",
  });
}
