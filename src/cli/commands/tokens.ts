import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { routePath } from "../../protocol/api.js";
import { POLICY_LIMITS, TokenAddResponse, TokenInfo, USER_ROUTES } from "../../protocol/api-users.js";
import { isoSeconds } from "../../shared/format.js";
import { printJson, printTable } from "../output.js";
import { checkedName, roleOption, wholeNumber } from "./user-options.js";

const Ok = z.object({ ok: z.boolean() });

/** Days an API token may be made to last, at most. */
const EXPIRY_DAYS = { min: 1, max: POLICY_LIMITS.maxAgeDays.max } as const;

/** `fernlink token add|list|revoke`: API tokens for automation (admins). */
export function registerTokenCommands(program: Command): void {
  const token = program.command("token").description("API tokens for automation, bound to the account and a role (admins)");

  token
    .command("add <name>")
    .description("make an API token; it is printed this once only")
    .addOption(roleOption())
    .option("--expires-days <n>", "days until the token expires (default: never)")
    .action(async (name: string, flags: { role: "admin" | "member"; expiresDays?: string }) => {
      checkedName("token", name);
      const expiresDays = flags.expiresDays === undefined ? undefined : wholeNumber("--expires-days", flags.expiresDays, EXPIRY_DAYS);
      const api = await apiClient();
      const reply = await api.call("POST", USER_ROUTES.tokens, TokenAddResponse, { name, role: flags.role, ...(expiresDays ? { expiresDays } : {}) });
      process.stdout.write(`api token: ${reply.token}\n`);
      process.stderr.write(
        `Token "${reply.info.name}" (${reply.info.role}) expires ${reply.info.expiresAt ? isoSeconds(reply.info.expiresAt) : "never"}. ` +
          "Store it now: it is not shown again. Send it as: Authorization: Bearer TOKEN\n",
      );
    });

  token
    .command("list")
    .description("list the account's API tokens (not the tokens themselves)")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const api = await apiClient();
      const tokens = await api.call("GET", USER_ROUTES.tokens, z.array(TokenInfo));
      if (flags.json) return printJson(tokens);
      printTable(
        ["NAME", "ROLE", "CREATED BY", "CREATED", "EXPIRES"],
        tokens.map((t) => [
          t.name,
          t.role,
          t.createdBy,
          isoSeconds(t.createdAt),
          t.expiresAt ? `${isoSeconds(t.expiresAt)}${t.expired ? " (expired)" : ""}` : "never",
        ]),
      );
    });

  token
    .command("revoke <name>")
    .description("revoke an API token")
    .action(async (name: string) => {
      const api = await apiClient();
      await api.call("DELETE", routePath(USER_ROUTES.token, { name: checkedName("token", name) }), Ok);
      process.stdout.write(`API token "${name}" revoked\n`);
    });
}
