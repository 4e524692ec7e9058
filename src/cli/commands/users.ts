import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { routePath } from "../../protocol/api.js";
import { PasswdResponse, USER_ROUTES, UserInfo } from "../../protocol/api-users.js";
import { isoSeconds } from "../../shared/format.js";
import { printJson, printTable } from "../output.js";
import { readNewPassword, readPassword } from "../password.js";
import { registerPolicyCommand } from "./account-policy.js";
import { registerOtpCommands } from "./otp.js";
import { registerTokenCommands } from "./tokens.js";
import { registerUserAdminCommands } from "./user-admin.js";
import { checkedName, roleOption } from "./user-options.js";

const Ok = z.object({ ok: z.boolean() });

function when(iso: string | null): string {
  return iso ? isoSeconds(iso) : "-";
}

/** `fernlink user …`, `passwd`, `otp …`, `account policy`, `token …`. */
export function registerUserCommands(program: Command): void {
  const user = program.command("user").description("manage the users of your account (admins)");

  user
    .command("add <name>")
    .description("add a user; the initial password comes from FERNLINK_NEW_PASSWORD or a prompt")
    .addOption(roleOption())
    .action(async (name: string, flags: { role: "admin" | "member" }) => {
      checkedName("user", name);
      const api = await apiClient();
      const password = await readNewPassword("FERNLINK_NEW_PASSWORD", `initial password for ${name}: `);
      const added = await api.call("POST", USER_ROUTES.users, UserInfo, { name, role: flags.role, password });
      process.stdout.write(`user "${added.name}" added (${added.role})\n`);
    });

  user
    .command("list")
    .description("list users with their role, lock and one-time-code state")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const api = await apiClient();
      const users = await api.call("GET", USER_ROUTES.users, z.array(UserInfo));
      if (flags.json) return printJson(users);
      printTable(
        ["NAME", "ROLE", "LOCKED", "OTP", "CREATED", "PASSWORD CHANGED"],
        users.map((u) => [
          u.name,
          u.role,
          u.adminLocked ? "by an admin" : u.locked ? `until ${when(u.lockedUntil)}` : "no",
          u.otpEnabled ? "on" : "off",
          when(u.createdAt),
          u.mustChangePassword ? "reset, must change" : when(u.passwordChangedAt),
        ]),
      );
    });

  user
    .command("remove <name>")
    .description("remove a user: sessions end, the user's API tokens are revoked, live streams are cut")
    .action(async (name: string) => {
      const api = await apiClient();
      await api.call("DELETE", routePath(USER_ROUTES.user, { name: checkedName("user", name) }), Ok);
      process.stdout.write(`user "${name}" removed\n`);
    });

  registerUserAdminCommands(user);

  const passwdDescription = "change your password (current from FERNLINK_PASSWORD, new from FERNLINK_NEW_PASSWORD, or prompts); your other sessions end";
  const passwd = async (): Promise<void> => {
    const api = await apiClient();
    const currentPassword = await readPassword("FERNLINK_PASSWORD", `current password for ${api.session.user}@${api.session.account}: `);
    const newPassword = await readNewPassword("FERNLINK_NEW_PASSWORD", "new password: ");
    const reply = await api.call("POST", USER_ROUTES.passwd, PasswdResponse, { currentPassword, newPassword });
    process.stdout.write(`password changed; ${reply.revokedSessions} other session(s) ended\n`);
  };
  program.command("passwd").description(passwdDescription).action(passwd);
  // The same under `user`, where a user told to change a reset password looks for it.
  user.command("passwd").description(passwdDescription).action(passwd);

  registerOtpCommands(program);
  registerPolicyCommand(program);
  registerTokenCommands(program);
}
