import type { AccountPolicy, AccountPolicyUpdate } from "../protocol/api-users.js";
import { accessChanged } from "./access-changes.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { policyOf } from "./password-policy.js";
import { ensureAdmin } from "./roles.js";
import { type AccountPolicyColumns, updateAccountPolicy } from "./store/accounts.js";
import { callerAccount } from "./users.js";

/** The caller's account policy (every user may read it, to know what a password must meet). */
export async function accountPolicy(ctx: AccessContext, who: Principal): Promise<AccountPolicy> {
  return policyOf(await callerAccount(ctx, who));
}

function describe(changes: AccountPolicyUpdate): string {
  return Object.entries(changes)
    .map(([key, value]) => `${key}=${value === null ? "none" : String(value)}`)
    .join(", ");
}

/**
 * Changes some settings of the caller's account policy (admins only). Tighter rules apply at
 * once: a password now too old, or a user without one-time codes when they become required,
 * gets a session restricted to fixing that.
 */
export async function setAccountPolicy(ctx: AccessContext, who: Principal, changes: AccountPolicyUpdate): Promise<AccountPolicy> {
  await ensureAdmin(ctx, who, "account.policy", who.accountName);
  const columns: AccountPolicyColumns = {};
  if (changes.minLength !== undefined) columns.min_password_length = changes.minLength;
  if (changes.maxAgeDays !== undefined) columns.max_password_age_days = changes.maxAgeDays;
  if (changes.history !== undefined) columns.password_history = changes.history;
  if (changes.lockoutAfter !== undefined) columns.lockout_after = changes.lockoutAfter;
  if (changes.requireOtp !== undefined) columns.require_otp = changes.requireOtp ? 1 : 0;
  if (changes.requireReason !== undefined) columns.require_reason = changes.requireReason ? 1 : 0;
  const account = await updateAccountPolicy(ctx.db, who.accountId, columns);
  // A tighter policy restricts sessions at once; a looser one lifts restrictions.
  await accessChanged(ctx, who.accountId);
  if (Object.keys(columns).length > 0) await auditBy(ctx, who, "account.policy", who.accountName, "ok", describe(changes));
  return policyOf(account);
}
