import type { LoginRequest, LoginResponse } from "../protocol/api.js";
import { FernlinkError } from "../shared/errors.js";
import { audit } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { dummyHash, hashPassword, verifyPassword } from "./password.js";
import { hashSecret, randomSecret } from "./secret-token.js";
import { createAccount, findAccountByName } from "./store/accounts.js";
import { createSession, findActiveSession, revokeSession, touchSession } from "./store/sessions.js";
import { createUser, findUserByName } from "./store/users.js";

/** Sessions end this long after login. */
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;

/** How stale `last_used_at` may get before a request refreshes it. */
const TOUCH_INTERVAL_MS = 60_000;

/** Passwords shorter than this are refused when an account or user is created. */
export const MIN_PASSWORD_LENGTH = 12;

/** Checks a new password against the minimum policy. */
export function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new FernlinkError("invalid-input", `the password is too short: use at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

/** Creates an account with its first admin, or does nothing when both already exist. */
export async function initAccount(ctx: AccessContext, input: { account: string; user: string; password: string }): Promise<"created" | "exists"> {
  const existing = await findAccountByName(ctx.db, input.account);
  if (existing && (await findUserByName(ctx.db, existing.id, input.user))) return "exists";
  checkNewPassword(input.password);
  const passwordHash = await hashPassword(input.password);
  await ctx.db.transaction().execute(async (trx) => {
    const now = ctx.now().toISOString();
    const account = existing ?? (await createAccount(trx, { name: input.account, now }));
    await createUser(trx, { accountId: account.id, name: input.user, passwordHash, role: "admin", now });
  });
  await audit(ctx, { accountId: (await findAccountByName(ctx.db, input.account))?.id ?? null, actor: "server", source: "cli", action: "account.init", object: `${input.account}/${input.user}`, result: "ok" });
  return "created";
}

/** Exchanges a password for a session token. The error never tells whether the user exists. */
export async function login(ctx: AccessContext, input: LoginRequest, source: string): Promise<LoginResponse> {
  const account = await findAccountByName(ctx.db, input.account);
  const user = account ? await findUserByName(ctx.db, account.id, input.user) : undefined;
  // Always run the KDF, so response time does not reveal unknown accounts or users.
  const ok = await verifyPassword(input.password, user?.password_hash ?? (await dummyHash()));
  if (!account || !user || !ok) {
    await audit(ctx, { accountId: account?.id ?? null, actor: input.user, source, action: "login", object: `${input.account}/${input.user}`, result: "denied", reason: "wrong account, user or password" });
    throw new FernlinkError("login-failed", `login failed: wrong account, user or password`);
  }
  const token = randomSecret(32);
  const now = ctx.now();
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS).toISOString();
  await createSession(ctx.db, { userId: user.id, tokenHash: hashSecret(token), now: now.toISOString(), expiresAt });
  await audit(ctx, { accountId: account.id, actor: user.name, source, action: "login", object: `${account.name}/${user.name}`, result: "ok" });
  return { token, expiresAt, account: account.name, user: user.name };
}

/** Resolves a bearer token to its principal, or throws "unauthenticated". */
export async function authenticate(ctx: AccessContext, token: string | undefined, source: string): Promise<Principal> {
  if (!token) throw new FernlinkError("unauthenticated", "not logged in; run: fernlink login");
  const now = ctx.now().toISOString();
  const found = await findActiveSession(ctx.db, hashSecret(token), now);
  if (!found) throw new FernlinkError("unauthenticated", "the session has expired or was ended; run: fernlink login");
  // One write per minute is enough to know a session is in use; not one per stream.
  if (Date.parse(now) - Date.parse(found.session.last_used_at) > TOUCH_INTERVAL_MS) await touchSession(ctx.db, found.session.id, now);
  return {
    accountId: found.account.id,
    accountName: found.account.name,
    userId: found.user.id,
    userName: found.user.name,
    role: found.user.role,
    sessionId: found.session.id,
    expiresAt: found.session.expires_at,
    source,
  };
}

/** Ends the caller's session. */
export async function logout(ctx: AccessContext, who: Principal): Promise<void> {
  await revokeSession(ctx.db, who.sessionId, ctx.now().toISOString());
  await audit(ctx, { accountId: who.accountId, actor: who.userName, source: who.source, action: "logout", object: `${who.accountName}/${who.userName}`, result: "ok" });
}
