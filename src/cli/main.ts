import { Command, CommanderError } from "commander";
import { registerAgentCommands } from "./commands/agent.js";
import { registerAuditCommand } from "./commands/audit.js";
import { registerConnectCommand } from "./commands/connect.js";
import { registerDeviceCommands } from "./commands/device.js";
import { registerServerCommand } from "./commands/server.js";
import { registerSessionCommands } from "./commands/session.js";
import { EXIT, reportError } from "./output.js";

/** The `fernlink` program with every command registered. */
export function buildProgram(): Command {
  const program = new Command("fernlink")
    .description("secure remote access to industrial machines through outbound-only tunnels")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    // Before the subcommands exist: commander copies these settings into each one it creates.
    .configureOutput({ outputError: (text, write) => write(`fernlink: ${text.replace(/^error: /, "")}`) });
  registerServerCommand(program);
  registerSessionCommands(program);
  registerDeviceCommands(program);
  registerAgentCommands(program);
  registerConnectCommand(program);
  registerAuditCommand(program);
  program.commands.forEach(function inherit(cmd: Command): void {
    cmd.exitOverride();
    cmd.showHelpAfterError("(run with --help for usage)");
    cmd.commands.forEach(inherit);
  });
  return program;
}

/** Runs the CLI and returns the exit status (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError && (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help")) {
      return EXIT.ok;
    }
    return reportError(err);
  }
}
