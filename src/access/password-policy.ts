import { FernlinkError } from "../protocol/errors.js";
import { isCommonPassword } from "./common-passwords.js";
import { verifyPassword } from "./password.js";
import type { Account } from "./store/schema.js";

/** An account's password and login rules, as the API shows them. */
export interface PasswordPolicy {
  minLength: number;
  /** Days a password stays valid; null: no expiry. */
  maxAgeDays: number | null;
  /** How many earlier passwords (besides the current one) may not be used again. */
  history: number;
  /** Failed logins within 15 minutes that lock the user for 30 minutes. */
  lockoutAfter: number;
  requireOtp: boolean;
  /** Every stream and portal session needs a connect reason. */
  requireReason: boolean;
}

/** The policy of a new account; the same defaults as the database columns. */
export const DEFAULT_POLICY: PasswordPolicy = { minLength: 12, maxAgeDays: null, history: 0, lockoutAfter: 5, requireOtp: false, requireReason: false };

/** Longest password accepted (the login request caps it too). */
export const MAX_PASSWORD_LENGTH = 1024;

/** The policy stored in an account row. */
export function policyOf(account: Account): PasswordPolicy {
  return {
    minLength: account.min_password_length,
    maxAgeDays: account.max_password_age_days,
    history: account.password_history,
    lockoutAfter: account.lockout_after,
    requireOtp: account.require_otp === 1,
    requireReason: account.require_reason === 1,
  };
}

/** True when a password set at `changedAt` is older than the policy allows at `now`. */
export function passwordExpired(policy: PasswordPolicy, changedAt: string | null, now: Date): boolean {
  if (policy.maxAgeDays === null || changedAt === null) return false;
  return now.getTime() - Date.parse(changedAt) >= policy.maxAgeDays * 24 * 3600 * 1000;
}

/** Checks everything about a new password that needs no stored hash: length, common list, names. */
export function checkPasswordRules(password: string, policy: PasswordPolicy, names: { account: string; user: string }): void {
  const length = [...password].length;
  if (length < policy.minLength) {
    throw new FernlinkError(
      "password-too-short",
      `the new password is too short (${length} characters); the account policy asks for at least ${policy.minLength}`,
    );
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw new FernlinkError("invalid-input", `the new password is too long; use at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  const lower = password.toLowerCase();
  if (lower === names.user.toLowerCase() || lower === names.account.toLowerCase()) {
    throw new FernlinkError("password-is-name", "the new password is the user or account name; choose another");
  }
  if (isCommonPassword(password)) {
    throw new FernlinkError("password-too-common", "the new password is on the list of commonly used passwords; choose another, e.g. a few unrelated words");
  }
}

/** Refuses a password that matches any of `hashes` (the current one and the remembered ones). */
export async function checkNotReused(password: string, hashes: readonly string[], history: number): Promise<void> {
  // One at a time: each check holds 32 MiB of scrypt memory.
  for (const hash of hashes) {
    if (!(await verifyPassword(password, hash))) continue;
    const what = history > 0 ? `the current password or one of the ${history} before it` : "the current password";
    throw new FernlinkError("password-reused", `the new password is ${what}; the account policy asks for a new one`);
  }
}
