import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { routePath } from "../../protocol/api.js";
import { SessionInfo, USER_ROUTES } from "../../protocol/api-users.js";
import { UsageError } from "../../protocol/errors.js";
import { isoSeconds } from "../../shared/format.js";
import { printJson, printTable } from "../output.js";

const Ok = z.object({ ok: z.boolean() });

/** `fernlink session list|end`: the account's live sessions (a member's own only). */
export function registerSessionAdminCommands(program: Command): void {
  const session = program.command("session").description("list and end live sessions (admins: every user's; members: their own)");

  session
    .command("list")
    .description("list live sessions: id, user, source address, started, last seen, kind (cli or portal)")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const api = await apiClient();
      const sessions = await api.call("GET", USER_ROUTES.sessions, z.array(SessionInfo));
      if (flags.json) return printJson(sessions);
      printTable(
        ["ID", "USER", "SOURCE", "STARTED", "LAST SEEN", "KIND"],
        sessions.map((s) => [
          s.current ? `${s.id} (this one)` : s.id,
          s.user,
          s.source ?? "-",
          isoSeconds(s.startedAt),
          isoSeconds(s.lastSeenAt),
          s.kind ?? "-",
        ]),
      );
    });

  session
    .command("end <id>")
    .description("end a session: its next request is refused and its live streams are cut")
    .action(async (id: string) => {
      if (!/^[0-9a-f-]{1,64}$/i.test(id)) throw new UsageError(`session id "${id}" is not an id from: fernlink session list`);
      const api = await apiClient();
      await api.call("DELETE", routePath(USER_ROUTES.session, { id }), Ok);
      process.stdout.write(`session ${id} ended\n`);
    });
}
