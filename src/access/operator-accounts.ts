import type { KeyObject } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../protocol/errors.js";
import type { AuditAction } from "./audit-actions.js";
import { hashPassword } from "./password.js";
import { checkPasswordRules, DEFAULT_POLICY } from "./password-policy.js";
import { type AccountUsage, accountUsage } from "./store/account-usage.js";
import { createAccount, findAccountByName, listAccounts, setAccountDisabled } from "./store/accounts.js";
import { appendAudit } from "./store/audit.js";
import { revokeDeviceCertificates } from "./store/certificates.js";
import type { Account, Database } from "./store/schema.js";
import { createUser } from "./store/users.js";

/**
 * The operator's work on accounts (`fernlink operator account …`), run on the server's host
 * against its store while the server runs. Nodes learn of a disable or a removal by reading
 * the accounts once a second (account-watch.ts). Each action is recorded in the system chain
 * (the operator stands above accounts) and, while the account exists, in its own chain too,
 * so its admins see who disabled it and when.
 */

/** Who acts, and the key that chains the records. */
export interface OperatorRecord {
  auditKey: KeyObject;
  /** The operator's login on the host, or an operator token's name. */
  operator: string;
  now: Date;
}

/** One account as `operator account list` shows it. */
export interface AccountSummary extends AccountUsage {
  name: string;
  id: string;
  state: "enabled" | "disabled";
  disabledAt: string | null;
  createdAt: string;
}

async function record(db: Kysely<Database>, rec: OperatorRecord, action: AuditAction, account: Account, reason: string | null = null): Promise<void> {
  const entry = { at: rec.now, actor: rec.operator, source: "operator", action, object: account.name, result: "ok" as const };
  await appendAudit(db, rec.auditKey, { ...entry, reason: `account ${account.id}${reason ? `: ${reason}` : ""}` });
  await appendAudit(db, rec.auditKey, { ...entry, account_id: account.id, reason });
}

/** Creates an account with its first admin; "conflict" when the name is taken. The password must pass the default policy. */
export async function addAccount(db: Kysely<Database>, input: { name: string; admin: string; password: string }, rec: OperatorRecord): Promise<Account> {
  checkPasswordRules(input.password, DEFAULT_POLICY, { account: input.name, user: input.admin });
  const passwordHash = await hashPassword(input.password);
  return db.transaction().execute(async (trx) => {
    const account = await createAccount(trx, { name: input.name, now: rec.now });
    await createUser(trx, { accountId: account.id, name: input.admin, passwordHash, role: "admin", now: rec.now });
    await record(trx, rec, "account.add", account, `first admin ${input.admin}`);
    return account;
  });
}

async function accountNamed(db: Kysely<Database>, name: string): Promise<Account> {
  const account = await findAccountByName(db, name);
  if (!account) throw new FernlinkError("not-found", `no account "${name}"; see: fernlink operator account list --data DIR`);
  return account;
}

/**
 * Disables or enables an account. Disabled, its users cannot log in, its sessions and API
 * tokens are refused and its devices' tunnels refused and closed; enabled again, all of them
 * work as before (nothing was revoked). Returns whether the state changed.
 */
export async function setAccountState(db: Kysely<Database>, name: string, state: "enabled" | "disabled", rec: OperatorRecord): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const account = await accountNamed(trx, name);
    if ((account.disabled_at !== null) === (state === "disabled")) return false;
    await setAccountDisabled(trx, account.id, state === "disabled" ? rec.now : null);
    await record(trx, rec, state === "disabled" ? "account.disable" : "account.enable", account);
    return true;
  });
}

/**
 * Removes an account and everything in it: users, sessions, API tokens, devices (their
 * certificates revoked), groups, pools, rules, web targets and published ports go with it
 * (foreign keys cascade). Its audit records stay, ending with the removal's own record, so
 * the chain can still be verified; the system chain names the removed account's id.
 */
export async function removeAccount(db: Kysely<Database>, name: string, rec: OperatorRecord): Promise<{ devices: number; users: number }> {
  return db.transaction().execute(async (trx) => {
    const account = await accountNamed(trx, name);
    const devices = await trx.selectFrom("devices").select("id").where("account_id", "=", account.id).execute();
    for (const d of devices) await revokeDeviceCertificates(trx, d.id, rec.now);
    const users = await trx.selectFrom("users").select("id").where("account_id", "=", account.id).execute();
    await record(trx, rec, "account.remove", account, `${devices.length} device(s), ${users.length} user(s) removed`);
    await trx.deleteFrom("accounts").where("id", "=", account.id).execute();
    return { devices: devices.length, users: users.length };
  });
}

/** How long a device may go unseen and still count as online: its node renews `last_seen` every minute. */
const ONLINE_SEEN_MS = 150_000;

/** Every account with its state and usage, by name. */
export async function accountSummaries(db: Kysely<Database>, now: Date, bytesSince?: Date): Promise<AccountSummary[]> {
  const accounts = await listAccounts(db);
  const usage = await accountUsage(db, { seenSince: new Date(now.getTime() - ONLINE_SEEN_MS), bytesSince });
  return accounts.map((a) => ({
    name: a.name,
    id: a.id,
    state: a.disabled_at === null ? "enabled" : "disabled",
    disabledAt: a.disabled_at,
    createdAt: a.created_at,
    ...(usage.get(a.id) ?? { users: 0, devices: 0, online: 0, streams: 0, bytesUp: 0, bytesDown: 0 }),
  }));
}
