import { resolve } from "node:path";
import type { Command } from "commander";
import { retryWhileBusy } from "../../client/busy-retry.js";
import { z } from "zod";
import { LoginResponse, ROUTES, WhoAmI } from "../../protocol/api.js";
import { UsageError } from "../../protocol/errors.js";
import { requestJson } from "../../shared/https-json.js";
import { apiClient } from "../../client/api-client.js";
import { clientHome, loadSession, readCa, removeSession, saveSession } from "../../client/client-state.js";
import { readPassword } from "../password.js";
import { printJson } from "../output.js";

const Ok = z.object({ ok: z.boolean() });

function serverUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--server "${text}" is not a URL; use e.g. https://fernlink.example.com:8443`);
  }
  if (url.protocol !== "https:") throw new UsageError(`--server "${text}" must start with https://`);
  return url.origin;
}

/** `fernlink login`, `logout` and `whoami`. */
export function registerSessionCommands(program: Command): void {
  program
    .command("login")
    .description("log in and keep the session in $FERNLINK_HOME")
    .requiredOption("--server <url>", "https://HOST:PORT of the Fernlink server")
    .option("--ca <file>", "CA certificate to trust (the server's ca.pem); or FERNLINK_CA")
    .requiredOption("--account <name>", "account")
    .requiredOption("--user <name>", "user")
    .option("--otp <code>", "one-time code, for users with two-factor login")
    .action(async (flags: { server: string; ca?: string; account: string; user: string; otp?: string }) => {
      const server = serverUrl(flags.server);
      const caPath = flags.ca ?? process.env["FERNLINK_CA"];
      const ca = await readCa(caPath);
      const password = await readPassword("FERNLINK_PASSWORD", `password for ${flags.user}@${flags.account}: `);
      const reply = await retryWhileBusy(() =>
        requestJson({
          server,
          path: ROUTES.login,
          body: { account: flags.account, user: flags.user, password, ...(flags.otp ? { otp: flags.otp } : {}) },
          ca,
          response: LoginResponse,
        }),
      );
      await saveSession(clientHome(), {
        server,
        ca: caPath ? resolve(caPath) : null,
        account: reply.account,
        user: reply.user,
        token: reply.token,
        expiresAt: reply.expiresAt,
      });
      process.stdout.write(`logged in to ${server} as ${reply.user}@${reply.account} (session ends ${reply.expiresAt})\n`);
      if (reply.restriction === "password-expired") process.stderr.write("Your password has expired: run fernlink passwd before anything else.\n");
      if (reply.restriction === "otp-enrollment-required") process.stderr.write("The account requires one-time codes: run fernlink otp enable before anything else.\n");
    });

  program
    .command("logout")
    .description("end the session on the server and forget it here")
    .action(async () => {
      const home = clientHome();
      await loadSession(home);
      const api = await apiClient(home);
      try {
        await api.call("POST", ROUTES.logout, Ok);
      } finally {
        await removeSession(home);
      }
      process.stdout.write("logged out\n");
    });

  program
    .command("whoami")
    .description("show who the saved session belongs to")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const api = await apiClient();
      const who = await api.call("GET", ROUTES.whoami, WhoAmI);
      if (flags.json) return printJson({ ...who, server: api.session.server });
      const via = who.token === undefined ? "session" : `API token "${who.token}"`;
      process.stdout.write(`${who.user}@${who.account} (${who.role}) on ${api.session.server}, ${via} ends ${who.expiresAt ?? "never"}\n`);
    });
}
