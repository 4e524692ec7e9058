import type { Command } from "commander";
import { ProxyPasswordMissing, type ProxySetting, proxySetting } from "../protocol/proxy-settings.js";
import { useProxy } from "../shared/server-dialer.js";
import { commandPath } from "./help-text.js";
import { readPassword } from "./password.js";

/** Commands that take `--proxy` (all but the server side honour HTTPS_PROXY / NO_PROXY). */
const PROXY_FLAG = new Set(["login", "connect", "agent register", "agent run", "check"]);

/** Command groups that run the server side: its connections never go through a user's proxy. */
const SERVER_SIDE = new Set(["server", "relay", "demo"]);

/** The proxy setting; a user without a password is asked for it on a terminal (never from argv). */
async function proxyAsked(flag: string | undefined): Promise<ProxySetting | undefined> {
  try {
    return proxySetting({ flag, env: process.env });
  } catch (err) {
    if (!(err instanceof ProxyPasswordMissing) || !process.stdin.isTTY) throw err;
    const password = await readPassword("FERNLINK_PROXY_PASSWORD", `password of proxy user ${err.user}: `);
    return proxySetting({ flag, env: { ...process.env, FERNLINK_PROXY_PASSWORD: password } });
  }
}

function leaves(command: Command): Command[] {
  return command.commands.length === 0 ? [command] : command.commands.flatMap(leaves);
}

/**
 * Gives `login`, `connect`, `agent register|run` and `check` a `--proxy` option, and makes every
 * client-side command dial through the proxy it names or HTTPS_PROXY names (NO_PROXY honoured).
 */
export function addProxyOptions(program: Command): void {
  for (const group of program.commands) {
    if (SERVER_SIDE.has(group.name())) continue;
    for (const command of leaves(group)) {
      if (PROXY_FLAG.has(commandPath(command)))
        command.option(
          "--proxy <url>",
          "HTTP proxy to go through, http://[USER@]HOST:PORT (password: FERNLINK_PROXY_PASSWORD); default: HTTPS_PROXY, NO_PROXY honoured",
        );
      command.hook("preAction", async (self) => useProxy(await proxyAsked(self.opts<{ proxy?: string }>().proxy)));
    }
  }
}
