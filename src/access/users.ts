import type { PasswdRequest, PasswdResponse, UserAddRequest, UserInfo } from "../protocol/api-users.js";
import { FernlinkError } from "../protocol/errors.js";
import { accessChanged } from "./access-changes.js";
import type { AuditAction } from "./audit-actions.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { revalidateStreams } from "./live-streams.js";
import { cancelAttempt, isLocked, reserveAttempt, settleFailure, takeCheckSlot } from "./login-guard.js";
import { hashPassword, verifyPassword } from "./password.js";
import { checkNotReused, checkPasswordRules, policyOf } from "./password-policy.js";
import { ensureAdmin } from "./roles.js";
import { cutStreamsOfEndedSessionsEverywhere } from "./session-streams.js";
import { findAccountById } from "./store/accounts.js";
import { revokeApiTokensBy } from "./store/api-tokens.js";
import { earlierPasswords, rememberPassword } from "./store/password-history.js";
import type { Account, User } from "./store/schema.js";
import { revokeUserSessions } from "./store/sessions.js";
import { createUser, deleteUser, findUserByName, getUser, listUsers, setAdminLock, setLockedUntil, setPasswordHash } from "./store/users.js";

/** Runs `fn`; a refusal it throws is audited as "denied" before it reaches the caller. */
export async function auditRefusals<T>(ctx: AccessContext, who: Principal, action: AuditAction, object: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FernlinkError) await auditBy(ctx, who, action, object, "denied", `${err.code}: ${err.message}`);
    throw err;
  }
}

/** The caller's account row. */
export async function callerAccount(ctx: AccessContext, who: Principal): Promise<Account> {
  const account = await findAccountById(ctx.db, who.accountId);
  if (!account) throw new FernlinkError("unauthenticated", "the account no longer exists; run: fernlink login");
  return account;
}

/** The caller's own user row; API tokens have none of their own. */
export async function callerUser(ctx: AccessContext, who: Principal, action: string): Promise<User> {
  if (who.tokenName !== undefined) {
    throw new FernlinkError("forbidden", `an API token cannot ${action}; log in as the user instead`);
  }
  const user = await getUser(ctx.db, who.userId);
  if (!user) throw new FernlinkError("unauthenticated", "the user no longer exists; run: fernlink login");
  return user;
}

/**
 * Refuses a request made with an API token. Users and API tokens are made by a signed-in
 * person: anything a token made would outlive it (a user never expires, and a child token
 * would survive its parent's revocation), as GitHub's fine-grained tokens, which only the
 * signed-in user makes, and GitLab, whose tokens cannot raise access, also hold.
 */
export function ensureSignedIn(who: Principal, what: string, command: string): void {
  if (who.tokenName !== undefined) {
    throw new FernlinkError("forbidden", `an API token cannot ${what} (token "${who.tokenName}"); an admin signs in and runs: ${command}`);
  }
}

/** A user of the caller's account; another account's user reads as missing. */
export async function userByName(ctx: AccessContext, who: Principal, name: string): Promise<User> {
  const user = await findUserByName(ctx.db, who.accountId, name);
  if (!user) throw new FernlinkError("not-found", `no such user "${name}"; see: fernlink user list`);
  return user;
}

/** A user as the API shows it. */
export function userInfo(user: User, now: Date): UserInfo {
  return {
    name: user.name,
    role: user.role,
    locked: isLocked(user, now),
    lockedUntil: isLocked(user, now) ? user.locked_until : null,
    otpEnabled: user.totp_enabled === 1,
    createdAt: user.created_at,
    passwordChangedAt: user.password_changed_at,
    adminLocked: user.admin_locked_at !== null,
    mustChangePassword: user.must_change_password === 1,
  };
}

/** Adds a user to the caller's account with an initial password that meets the policy. */
export async function addUser(ctx: AccessContext, who: Principal, input: UserAddRequest): Promise<UserInfo> {
  await ensureAdmin(ctx, who, "user.add", input.name);
  const user = await auditRefusals(ctx, who, "user.add", input.name, async () => {
    ensureSignedIn(who, "add users", `fernlink user add ${input.name}`);
    const account = await callerAccount(ctx, who);
    checkPasswordRules(input.password, policyOf(account), { account: account.name, user: input.name });
    const passwordHash = await hashPassword(input.password);
    return createUser(ctx.db, { accountId: account.id, name: input.name, passwordHash, role: input.role, now: ctx.now() });
  });
  await auditBy(ctx, who, "user.add", input.name, "ok", `role ${input.role}`);
  return userInfo(user, ctx.now());
}

/** The users of the caller's account. */
export async function listAccountUsers(ctx: AccessContext, who: Principal): Promise<UserInfo[]> {
  await ensureAdmin(ctx, who, "user.list", "users");
  const now = ctx.now();
  return (await listUsers(ctx.db, who.accountId)).map((u) => userInfo(u, now));
}

/**
 * Removes a user: the user's sessions end (foreign keys cascade), the API tokens the user made
 * are revoked, and the user's live streams are cut.
 */
export async function removeUser(ctx: AccessContext, who: Principal, name: string): Promise<void> {
  await ensureAdmin(ctx, who, "user.remove", name);
  const revoked = await auditRefusals(ctx, who, "user.remove", name, async () => {
    const user = await userByName(ctx, who, name);
    if (user.id === who.userId) throw new FernlinkError("conflict", "you cannot remove yourself; ask another admin of the account");
    return ctx.db.transaction().execute(async (trx) => {
      const tokens = await revokeApiTokensBy(trx, user.id, ctx.now());
      await deleteUser(trx, user.id);
      return tokens;
    });
  });
  await accessChanged(ctx, who.accountId);
  await revalidateStreams(ctx, who.accountId);
  await auditBy(ctx, who, "user.remove", name, "ok", revoked.length ? `API tokens revoked: ${revoked.join(", ")}` : undefined);
}

/** Lifts a lock after failed logins and an admin's lock, and starts the user's failure count afresh. */
export async function unlockUser(ctx: AccessContext, who: Principal, name: string): Promise<UserInfo> {
  await ensureAdmin(ctx, who, "user.unlock", name);
  const user = await auditRefusals(ctx, who, "user.unlock", name, () => userByName(ctx, who, name));
  const now = ctx.now();
  await ctx.db.transaction().execute(async (trx) => {
    await setLockedUntil(trx, user.id, now);
    await setAdminLock(trx, user.id, null);
  });
  if (user.admin_locked_at !== null) await accessChanged(ctx, who.accountId);
  const was = [
    isLocked(user, now) ? `was locked until ${user.locked_until}` : undefined,
    user.admin_locked_at !== null ? `was locked by an admin since ${user.admin_locked_at}` : undefined,
  ].filter((w) => w !== undefined);
  await auditBy(ctx, who, "user.unlock", name, "ok", was.length > 0 ? was.join("; ") : "was not locked");
  return userInfo({ ...user, locked_until: now.toISOString(), admin_locked_at: null }, now);
}

/**
 * Changes the caller's own password after checking the current one (a wrong one counts toward
 * the lock, as at login) and the policy; every other session of the user ends.
 */
export async function changePassword(ctx: AccessContext, who: Principal, input: PasswdRequest): Promise<PasswdResponse> {
  const revokedSessions = await auditRefusals(ctx, who, "passwd", who.userName, async () => {
    // Two scrypt runs (the current password, the new one): a place among the checks allowed at once.
    const release = takeCheckSlot(ctx, who.source);
    try {
      return await checkAndChangePassword(ctx, who, input);
    } finally {
      release();
    }
  });
  // The user's other sessions ended, and a restriction of an expired password is lifted.
  await accessChanged(ctx, who.accountId);
  // The ended sessions' streams (a thief's among them) end now, not at the next sweep.
  await cutStreamsOfEndedSessionsEverywhere(ctx, who.accountId);
  await auditBy(ctx, who, "passwd", who.userName, "ok", `${revokedSessions} other session(s) ended`);
  return { revokedSessions };
}

/** The checks and the change itself, within a place among the password checks allowed at once. */
async function checkAndChangePassword(ctx: AccessContext, who: Principal, input: PasswdRequest): Promise<number> {
  const user = await callerUser(ctx, who, "change a password");
  const account = await callerAccount(ctx, who);
  const now = ctx.now();
  // Counted before the check, like a login, so concurrent guesses cannot pass the lock.
  const reservation = await reserveAttempt(ctx, { accountName: account.name, userName: user.name, source: who.source, now });
  if (reservation.blocked !== undefined) {
    await cancelAttempt(ctx, reservation);
    const until = reservation.user?.locked_until;
    const when = until && Date.parse(until) > now.getTime() ? ` until ${until}` : "";
    throw new FernlinkError("forbidden", `user "${user.name}" is locked after failed logins${when}; an admin can unlock it`);
  }
  if (!(await verifyPassword(input.currentPassword, user.password_hash))) {
    await settleFailure(ctx, reservation);
    throw new FernlinkError("wrong-password", "the current password is wrong; give the password you logged in with");
  }
  await cancelAttempt(ctx, reservation);
  const policy = policyOf(account);
  checkPasswordRules(input.newPassword, policy, { account: account.name, user: user.name });
  await checkNotReused(input.newPassword, [user.password_hash, ...(await earlierPasswords(ctx.db, user.id, policy.history))], policy.history);
  const passwordHash = await hashPassword(input.newPassword);
  return ctx.db.transaction().execute(async (trx) => {
    await rememberPassword(trx, user.id, user.password_hash, now, policy.history);
    await setPasswordHash(trx, user.id, passwordHash, now);
    return revokeUserSessions(trx, user.id, who.sessionId, now);
  });
}
