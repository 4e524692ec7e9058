import type { Command } from "commander";
import { apiClient } from "../../client/api-client.js";
import { routePath } from "../../protocol/api.js";
import { USER_ROUTES, UserInfo } from "../../protocol/api-users.js";
import { UsageError } from "../../protocol/errors.js";
import { readNewPassword } from "../password.js";
import { checkedName } from "./user-options.js";

/** POSTs to one user's admin route and returns the user as it is now. */
async function post(route: string, name: string, body?: unknown): Promise<UserInfo> {
  const api = await apiClient();
  return api.call("POST", routePath(route, { name: checkedName("user", name) }), UserInfo, body);
}

/** `fernlink user lock|unlock|reset-password|reset-otp|role`: an admin's controls over another user. */
export function registerUserAdminCommands(user: Command): void {
  user
    .command("lock <name>")
    .description("lock a user now: sessions end, live streams are cut, API tokens stop working, logins are refused until unlocked")
    .action(async (name: string) => {
      await post(USER_ROUTES.userLock, name);
      process.stdout.write(`user "${name}" locked; unlock with: fernlink user unlock ${name}\n`);
    });

  user
    .command("unlock <name>")
    .description("lift a lock after failed logins, or an admin's lock")
    .action(async (name: string) => {
      await post(USER_ROUTES.userUnlock, name);
      process.stdout.write(`user "${name}" unlocked\n`);
    });

  user
    .command("reset-password <name>")
    .description("set a one-time password (from FERNLINK_NEW_PASSWORD or a prompt) the user must change at the next login; the user's sessions end")
    .action(async (name: string) => {
      checkedName("user", name);
      const password = await readNewPassword("FERNLINK_NEW_PASSWORD", `one-time password for ${name}: `);
      await post(USER_ROUTES.userResetPassword, name, { password });
      process.stdout.write(`password of "${name}" reset; the user must change it at the next login\n`);
    });

  user
    .command("reset-otp <name>")
    .description("remove a user's one-time codes (a lost phone), so the user enrols again")
    .action(async (name: string) => {
      await post(USER_ROUTES.userResetOtp, name);
      process.stdout.write(`one-time codes of "${name}" removed; the user enrols again with: fernlink otp enable\n`);
    });

  user
    .command("role <name> <role>")
    .description("make a user admin or member (the account keeps at least one admin)")
    .action(async (name: string, role: string) => {
      if (role !== "admin" && role !== "member") throw new UsageError(`role "${role}" must be admin or member`);
      const changed = await post(USER_ROUTES.userRole, name, { role });
      process.stdout.write(`user "${changed.name}" is now ${changed.role}\n`);
    });
}
