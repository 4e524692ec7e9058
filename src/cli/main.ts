import { Command, CommanderError } from "commander";
import { VERSION } from "../shared/version.js";
import { addCaOptions } from "./ca-option.js";
import { registerAccessRuleCommands } from "./commands/access-rules.js";
import { registerAgentCommands } from "./commands/agent.js";
import { registerAuditCommand } from "./commands/audit.js";
import { registerCheckCommand } from "./commands/check.js";
import { registerConnectCommand } from "./commands/connect.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerDeviceCommands } from "./commands/device.js";
import { registerLiveCommands } from "./commands/live.js";
import { registerLoginThrottleCommands } from "./commands/login-throttle.js";
import { registerPublishCommands } from "./commands/publish.js";
import { registerRelayCommands } from "./commands/relay.js";
import { registerReportCommands } from "./commands/report.js";
import { registerServerCommand } from "./commands/server.js";
import { registerSessionCommands } from "./commands/session.js";
import { registerUserCommands } from "./commands/users.js";
import { addConfigOptions } from "./config-option.js";
import { addHelpTexts, optionDescription, runsItself } from "./help-text.js";
import { EXIT, reportError } from "./output.js";
import { addProxyOptions } from "./proxy-option.js";

/** Commander's message, possibly several lines, as the one line the contract asks for. */
function usageLine(text: string): string {
  return `${text
    .replace(/^error: /, "")
    .replace(/\s*\n\s*/g, " ")
    .trim()} (see --help)`;
}

/** The `fernlink` program with every command registered. */
export function buildProgram(): Command {
  const program = new Command("fernlink")
    .description("secure remote access to industrial machines through outbound-only tunnels")
    .version(VERSION)
    .exitOverride()
    // Before the subcommands exist: commander copies these settings into each one it creates.
    .configureOutput({ outputError: (text, write) => write(`fernlink: ${usageLine(text)}\n`) })
    .configureHelp({ optionDescription });
  registerServerCommand(program);
  registerSessionCommands(program);
  registerDeviceCommands(program);
  registerAgentCommands(program);
  registerRelayCommands(program);
  registerConnectCommand(program);
  registerCheckCommand(program);
  registerAuditCommand(program);
  registerReportCommands(program);
  registerLiveCommands(program);
  registerPublishCommands(program);
  registerUserCommands(program);
  registerAccessRuleCommands(program);
  registerDemoCommand(program);
  registerLoginThrottleCommands(program);
  addCaOptions(program);
  addProxyOptions(program);
  addConfigOptions(program);
  program.commands.forEach(function inherit(cmd: Command): void {
    cmd.exitOverride();
    cmd.commands.forEach(inherit);
  });
  addHelpTexts(program);
  return program;
}

/**
 * The command group that `args` names and nothing more (`fernlink`, `fernlink device`):
 * asking for it is asking for its help, which then goes to stdout and exits 0.
 */
function bareGroup(program: Command, args: readonly string[]): Command | undefined {
  let cmd = program;
  for (const arg of args) {
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!sub) return undefined;
    cmd = sub;
  }
  return runsItself(cmd) ? undefined : cmd;
}

/** Runs the CLI and returns the exit status (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const group = bareGroup(program, argv.slice(2));
  if (group) {
    process.stdout.write(group.helpInformation());
    return EXIT.ok;
  }
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
