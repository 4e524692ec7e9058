import type { PasswordResetRequest, RoleChangeRequest, UserInfo } from "../protocol/api-users.js";
import { FernlinkError } from "../protocol/errors.js";
import { accessChanged } from "./access-changes.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { revalidateStreams } from "./live-streams.js";
import { hashPassword } from "./password.js";
import { checkPasswordRules, policyOf } from "./password-policy.js";
import { ensureAdmin } from "./roles.js";
import { cutStreamsOfEndedSessionsEverywhere } from "./session-streams.js";
import { inKeyedTransaction } from "./store/keyed-transaction.js";
import { rememberPassword } from "./store/password-history.js";
import type { User } from "./store/schema.js";
import { revokeUserSessions } from "./store/sessions.js";
import { countAdmins, findUserByName, setAdminLock, setLockedUntil, setPasswordHash, setRole, setTotp } from "./store/users.js";
import { auditRefusals, callerAccount, ensureSignedIn, userByName, userInfo } from "./users.js";

/** Refuses an admin control aimed at the caller's own user, naming what to do instead. */
function notYourself(who: Principal, user: User, instead: string): void {
  if (user.id === who.userId) throw new FernlinkError("conflict", `not on yourself; ${instead}`);
}

/**
 * Locks a user now, until an admin unlocks it: the user's sessions end and their live streams
 * are cut (here and on every other node), the API tokens the user made stop working, and logins
 * are refused. Locking a locked user keeps the first lock's time.
 */
export async function lockUser(ctx: AccessContext, who: Principal, name: string): Promise<UserInfo> {
  await ensureAdmin(ctx, who, "user.lock", name);
  const { user, ended } = await auditRefusals(ctx, who, "user.lock", name, async () => {
    const user = await userByName(ctx, who, name);
    notYourself(who, user, "ask another admin of the account");
    const now = ctx.now();
    const lockedAt = user.admin_locked_at ?? now.toISOString();
    const ended = await ctx.db.transaction().execute(async (trx) => {
      await setAdminLock(trx, user.id, lockedAt);
      return revokeUserSessions(trx, user.id, null, now);
    });
    return { user: { ...user, admin_locked_at: lockedAt }, ended };
  });
  await accessChanged(ctx, who.accountId);
  await cutStreamsOfEndedSessionsEverywhere(ctx, who.accountId);
  // Streams opened with the user's API tokens or published ports hold no session: re-checked.
  await revalidateStreams(ctx, who.accountId);
  await auditBy(ctx, who, "user.lock", name, "ok", `locked by an admin; ${ended} session(s) ended`);
  return userInfo(user, ctx.now());
}

/**
 * Sets a one-time password the user must change at the next login (the session may then only
 * change it). The user's sessions end, a lock after failed logins is lifted (an admin's lock
 * is not), and the old password joins the history.
 */
export async function resetPassword(ctx: AccessContext, who: Principal, name: string, input: PasswordResetRequest): Promise<UserInfo> {
  await ensureAdmin(ctx, who, "user.reset-password", name);
  const { user, ended } = await auditRefusals(ctx, who, "user.reset-password", name, async () => {
    ensureSignedIn(who, "reset passwords", `fernlink user reset-password ${name}`);
    const user = await userByName(ctx, who, name);
    notYourself(who, user, "change your own password with: fernlink passwd");
    const account = await callerAccount(ctx, who);
    const policy = policyOf(account);
    checkPasswordRules(input.password, policy, { account: account.name, user: user.name });
    const passwordHash = await hashPassword(input.password);
    const now = ctx.now();
    const ended = await ctx.db.transaction().execute(async (trx) => {
      await rememberPassword(trx, user.id, user.password_hash, now, policy.history);
      await setPasswordHash(trx, user.id, passwordHash, now, true);
      await setLockedUntil(trx, user.id, now);
      return revokeUserSessions(trx, user.id, null, now);
    });
    const changed: User = { ...user, must_change_password: 1, password_changed_at: now.toISOString(), locked_until: now.toISOString() };
    return { user: changed, ended };
  });
  await accessChanged(ctx, who.accountId);
  await cutStreamsOfEndedSessionsEverywhere(ctx, who.accountId);
  await auditBy(ctx, who, "user.reset-password", name, "ok", `must change it at the next login; ${ended} session(s) ended`);
  return userInfo(user, ctx.now());
}

/** Removes a user's one-time codes (a lost phone): the user enrols again, when the policy asks at the next login. */
export async function resetOtp(ctx: AccessContext, who: Principal, name: string): Promise<UserInfo> {
  await ensureAdmin(ctx, who, "user.reset-otp", name);
  const user = await auditRefusals(ctx, who, "user.reset-otp", name, async () => {
    ensureSignedIn(who, "remove one-time codes", `fernlink user reset-otp ${name}`);
    const user = await userByName(ctx, who, name);
    notYourself(who, user, "turn your own codes off with: fernlink otp disable");
    await setTotp(ctx.db, user.id, null);
    return user;
  });
  await accessChanged(ctx, who.accountId);
  await auditBy(ctx, who, "user.reset-otp", name, "ok", user.totp_enabled === 1 ? "one-time codes removed" : "had no one-time codes");
  return userInfo({ ...user, totp_enabled: 0, totp_secret: null, totp_last_step: null }, ctx.now());
}

/**
 * Changes a user's role. The account keeps at least one admin: the count and the change run
 * in one transaction serialised per account, so two admins demoting each other cannot both win.
 */
export async function changeRole(ctx: AccessContext, who: Principal, name: string, input: RoleChangeRequest): Promise<UserInfo> {
  await ensureAdmin(ctx, who, "user.role", name);
  const { user, before } = await auditRefusals(ctx, who, "user.role", name, async () => {
    ensureSignedIn(who, "change roles", `fernlink user role ${name} ${input.role}`);
    return inKeyedTransaction(ctx.db, [`account-admins:${who.accountId}`], async (trx) => {
      const user = await findUserByName(trx, who.accountId, name);
      if (!user) throw new FernlinkError("not-found", `no such user "${name}"; see: fernlink user list`);
      if (user.role === "admin" && input.role === "member" && (await countAdmins(trx, who.accountId)) <= 1) {
        throw new FernlinkError("conflict", `user "${name}" is the account's last admin; make another user admin first: fernlink user role NAME admin`);
      }
      await setRole(trx, user.id, input.role);
      return { user: { ...user, role: input.role }, before: user.role };
    });
  });
  await accessChanged(ctx, who.accountId);
  // A member may reach less than an admin: the user's streams are checked again.
  if (before !== input.role) await revalidateStreams(ctx, who.accountId);
  await auditBy(ctx, who, "user.role", name, "ok", before === input.role ? `was ${before} already` : `${before} → ${input.role}`);
  return userInfo(user, ctx.now());
}
