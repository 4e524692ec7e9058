import { FernlinkError } from "../protocol/errors.js";
import type { Account } from "./store/schema.js";

/**
 * An operator may disable an account (`fernlink operator account disable`). Every way in
 * checks here: a login with the right password, each request's session or API token, a
 * published port's connection, and each agent's certificate.
 */

/** The refusal every user and device of a disabled account gets. */
export function accountDisabledError(): FernlinkError {
  return new FernlinkError("account-disabled", "the account is disabled; ask your service provider");
}

/** True while an operator has the account disabled. */
export function isAccountDisabled(account: Pick<Account, "disabled_at">): boolean {
  return account.disabled_at !== null;
}

/** Throws "account-disabled" for a disabled account. */
export function ensureAccountEnabled(account: Pick<Account, "disabled_at">): void {
  if (isAccountDisabled(account)) throw accountDisabledError();
}
