import type { Command } from "commander";
import { useCaFile } from "../client/api-client.js";

/** Command groups that do not use the saved session: the server, the agent and the relays bring their own trust. */
const OWN_TRUST = new Set(["server", "agent", "relay"]);

function leaves(command: Command): Command[] {
  return command.commands.length === 0 ? [command] : command.commands.flatMap(leaves);
}

/**
 * Gives every command that calls the API with the saved session a `--ca FILE` option, trusted
 * instead of the session's CA for that run. Operator commands (`--data`) and commands that
 * already take `--ca` are left as they are.
 */
export function addCaOptions(program: Command): void {
  for (const group of program.commands) {
    if (OWN_TRUST.has(group.name())) continue;
    for (const command of leaves(group)) {
      if (command.options.some((o) => o.long === "--ca" || o.long === "--data")) continue;
      command.option("--ca <file>", "CA certificate to trust for this command instead of the one saved at login");
      command.hook("preAction", (self) => useCaFile(self.opts<{ ca?: string }>().ca));
    }
  }
}
