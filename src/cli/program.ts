import { Command, CommanderError } from "commander";
import { VERSION } from "../shared/version.js";
import { addCaOptions } from "./ca-option.js";
import { addConfigOptions } from "./config-option.js";
import { addHelpTexts, optionDescription, runsItself } from "./help-text.js";
import { EXIT, reportError } from "./output.js";
import { addProxyOptions } from "./proxy-option.js";

/** Adds one command group to the program. */
export type Registrar = (program: Command) => void;

/** Commander's message, possibly several lines, as the one line the contract asks for. */
function usageLine(text: string): string {
  return `${text
    .replace(/^error: /, "")
    .replace(/\s*\n\s*/g, " ")
    .trim()} (see --help)`;
}

/** The `fernlink` program with the given command groups and the options every command shares. */
export function createProgram(registrars: readonly Registrar[]): Command {
  const program = new Command("fernlink")
    .description("secure remote access to industrial machines through outbound-only tunnels")
    .version(VERSION)
    .exitOverride()
    // Before the subcommands exist: commander copies these settings into each one it creates.
    .configureOutput({ outputError: (text, write) => write(`fernlink: ${usageLine(text)}\n`) })
    .configureHelp({ optionDescription });
  for (const register of registrars) register(program);
  addCaOptions(program);
  addProxyOptions(program);
  addConfigOptions(program);
  // Set after the commands exist, so they keep parsing their options anywhere: this only hands
  // everything after a command's name to that command, which `server backup --data` needs
  // (else `server`, already named as an operand, would take --data itself).
  program.enablePositionalOptions();
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

/** Runs `program` on `argv` and returns the exit status (0 ok, 1 failure, 2 usage, 3 revoked). */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
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
