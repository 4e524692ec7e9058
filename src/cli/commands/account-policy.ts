import type { Command } from "commander";
import { apiClient } from "../../client/api-client.js";
import { AccountPolicy, type AccountPolicyUpdate, POLICY_LIMITS, USER_ROUTES } from "../../protocol/api-users.js";
import { printJson, printTable } from "../output.js";
import { wholeNumber } from "./user-options.js";

interface PolicyFlags {
  minLength?: string;
  maxAgeDays?: string;
  history?: string;
  lockoutAfter?: string;
  requireOtp?: boolean;
  requireReason?: boolean;
  json?: boolean;
}

function changesOf(flags: PolicyFlags): AccountPolicyUpdate {
  const changes: AccountPolicyUpdate = {};
  if (flags.minLength !== undefined) changes.minLength = wholeNumber("--min-length", flags.minLength, POLICY_LIMITS.minLength);
  if (flags.maxAgeDays !== undefined) {
    // 0 turns expiry off.
    changes.maxAgeDays = flags.maxAgeDays === "0" ? null : wholeNumber("--max-age-days", flags.maxAgeDays, POLICY_LIMITS.maxAgeDays);
  }
  if (flags.history !== undefined) changes.history = wholeNumber("--history", flags.history, POLICY_LIMITS.history);
  if (flags.lockoutAfter !== undefined) changes.lockoutAfter = wholeNumber("--lockout-after", flags.lockoutAfter, POLICY_LIMITS.lockoutAfter);
  if (flags.requireOtp !== undefined) changes.requireOtp = flags.requireOtp;
  if (flags.requireReason !== undefined) changes.requireReason = flags.requireReason;
  return changes;
}

/** `fernlink account policy`: show the account's password and login policy, or change it (admins). */
export function registerPolicyCommand(program: Command): void {
  const account = program.command("account").description("settings of your account");
  account
    .command("policy")
    .description("show the password, login and connect-reason policy; with flags, change it (admins)")
    .option("--min-length <n>", `shortest password allowed (${POLICY_LIMITS.minLength.min}-${POLICY_LIMITS.minLength.max})`)
    .option("--max-age-days <n>", "days a password stays valid; 0: no expiry")
    .option("--history <n>", "how many earlier passwords may not be used again")
    .option("--lockout-after <n>", "failed logins within 15 minutes that lock a user for 30 minutes")
    .option("--require-otp", "every user must log in with a one-time code")
    .option("--no-require-otp", "one-time codes are each user's choice")
    .option("--require-reason", "every connection (connect, portal) must give a reason, kept in the audit")
    .option("--no-require-reason", "a connect reason is not asked for")
    .option("--json", "print JSON")
    .action(async (flags: PolicyFlags) => {
      const changes = changesOf(flags);
      const api = await apiClient();
      const policy =
        Object.keys(changes).length > 0
          ? await api.call("POST", USER_ROUTES.policy, AccountPolicy, changes)
          : await api.call("GET", USER_ROUTES.policy, AccountPolicy);
      if (flags.json) return printJson(policy);
      printTable(
        ["SETTING", "VALUE"],
        [
          ["min-length", String(policy.minLength)],
          ["max-age-days", policy.maxAgeDays === null ? "none" : String(policy.maxAgeDays)],
          ["history", String(policy.history)],
          ["lockout-after", String(policy.lockoutAfter)],
          ["require-otp", policy.requireOtp ? "yes" : "no"],
          ["require-reason", policy.requireReason ? "yes" : "no"],
        ],
      );
    });
}
