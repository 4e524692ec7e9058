import type { Command } from "commander";
import { z } from "zod";
import { apiClient } from "../../client/api-client.js";
import { retryWhileBusy } from "../../client/busy-retry.js";
import {
  clientHome,
  hasSession,
  LOGIN_HINT,
  readCa,
  readSavedSession,
  removeCaCopy,
  removeSession,
  saveCaCopy,
  saveSession,
  sessionCaPath,
} from "../../client/client-state.js";
import { LoginResponse, ROUTES, WhoAmI } from "../../protocol/api.js";
import { FernlinkError, UsageError } from "../../protocol/errors.js";
import { requestJson } from "../../shared/https-json.js";
import { printJson } from "../output.js";
import { readPassword } from "../password.js";

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

/** Where `login` goes: the flags, else the saved session's server, and its account, user and CA on that server. */
async function loginTarget(
  home: string,
  flags: { server?: string; ca?: string; account?: string; user?: string },
): Promise<{ server: string; account: string; user: string; caPath: string | null }> {
  const saved = await readSavedSession(home).catch(() => undefined);
  const server = flags.server !== undefined ? serverUrl(flags.server) : saved?.server;
  const same = saved !== undefined && saved.server === server ? saved : undefined;
  const account = flags.account ?? same?.account;
  const user = flags.user ?? same?.user;
  if (server === undefined || account === undefined || user === undefined) {
    const missing = [server === undefined && "--server", account === undefined && "--account", user === undefined && "--user"].filter(Boolean).join(", ");
    throw new UsageError(`no earlier login to reuse for ${missing}; run: ${LOGIN_HINT}`);
  }
  const caPath = flags.ca ?? process.env["FERNLINK_CA"] ?? (same ? sessionCaPath(home, same) : null);
  return { server, account, user, caPath };
}

/** `fernlink login`, `logout` and `whoami`. */
export function registerSessionCommands(program: Command): void {
  program
    .command("login")
    .description("log in and keep the session in $FERNLINK_HOME")
    .option("--server <url>", "https://HOST:PORT of the Fernlink server (default: the last one logged in to)")
    .option("--ca <file>", "CA certificate to trust (the server's ca.pem; a copy is kept); or FERNLINK_CA")
    .option("--account <name>", "account (default: the last one, on the same server)")
    .option("--user <name>", "user (default: the last one, on the same server)")
    .option("--otp <code>", "one-time code, for users with two-factor login")
    .action(async (flags: { server?: string; ca?: string; account?: string; user?: string; otp?: string }) => {
      const home = clientHome();
      const target = await loginTarget(home, flags);
      const ca = await readCa(target.caPath);
      const password = await readPassword("FERNLINK_PASSWORD", `password for ${target.user}@${target.account}: `);
      const reply = await retryWhileBusy(() =>
        requestJson({
          server: target.server,
          path: ROUTES.login,
          body: { account: target.account, user: target.user, password, ...(flags.otp ? { otp: flags.otp } : {}) },
          ca,
          response: LoginResponse,
        }),
      );
      await saveSession(home, {
        server: target.server,
        ca: ca === undefined ? await removeCaCopy(home) : await saveCaCopy(home, ca),
        account: reply.account,
        user: reply.user,
        token: reply.token,
        expiresAt: reply.expiresAt,
      });
      process.stdout.write(`logged in to ${target.server} as ${reply.user}@${reply.account} (session ends ${reply.expiresAt})\n`);
      if (reply.restriction === "password-expired") process.stderr.write("Your password has expired: run fernlink passwd before anything else.\n");
      if (reply.restriction === "password-change-required")
        process.stderr.write("An admin reset your password; you must change your password: fernlink user passwd\n");
      if (reply.restriction === "otp-enrollment-required")
        process.stderr.write("The account requires one-time codes: run fernlink otp enable before anything else.\n");
    });

  program
    .command("logout")
    .description("end the session on the server and forget it here")
    .action(async () => {
      const home = clientHome();
      if (!(await hasSession(home))) {
        process.stdout.write("not logged in; nothing to do\n");
        return;
      }
      const api = await apiClient(home);
      try {
        await api.call("POST", ROUTES.logout, Ok);
      } catch (err) {
        // A session the server already ended (expired, revoked) is as good as logged out.
        if (!(err instanceof FernlinkError && err.code === "unauthenticated")) throw err;
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
