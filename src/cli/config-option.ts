import { readFile } from "node:fs/promises";
import type { Command, Option } from "commander";
import { parse, TomlError } from "smol-toml";
import { UsageError } from "../protocol/errors.js";
import { configAssignments } from "./config-file.js";
import { runsItself } from "./help-text.js";

/** Reads and parses a TOML config file; any failure is one usage line naming the file. */
async function readConfig(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "not readable by this user" : String(code ?? err);
    throw new UsageError(`--config ${file}: ${why}; give the path of a TOML file whose keys are the command's long flags`);
  }
  try {
    return parse(text) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const first = err.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "") ?? "";
    throw new UsageError(`--config ${file}: not valid TOML at line ${err.line}, column ${err.column}: ${first}`);
  }
}

/** Sets the file's values on `command` wherever the command line (or the environment) did not. */
async function applyConfig(command: Command, file: string): Promise<void> {
  const { assignments, problems } = configAssignments(command, await readConfig(file));
  if (problems.length > 0) throw new UsageError(`${file}: ${problems.join("; ")}`);
  for (const { attribute, value } of assignments) {
    const source = command.getOptionValueSource(attribute);
    if (source === "cli" || source === "env") continue;
    command.setOptionValueWithSource(attribute, value, "config");
  }
}

/** Every command below `command` that runs something itself. */
function runners(command: Command): Command[] {
  const below = command.commands.flatMap(runners);
  return command.parent && runsItself(command) ? [command, ...below] : below;
}

/**
 * Gives every command a `--config FILE` option: a TOML file equivalent to its flags (keys are
 * the long flags without `--`, repeatable flags arrays, switches true or false). Flags on the
 * command line win. Required flags may come from the file, so commander's own check, which runs
 * before any hook, is replaced by the same check after the file is read. Called after every
 * option is added; the program's hook runs before the commands' own (the proxy's, the CA's),
 * so those see the file's values too.
 */
export function addConfigOptions(program: Command): void {
  const required = new Map<Command, Option[]>();
  for (const command of runners(program)) {
    const mandatory = command.options.filter((o) => o.mandatory);
    for (const option of mandatory) option.makeOptionMandatory(false);
    required.set(command, mandatory);
    command.option("--config <file>", "read flags from this TOML file (keys: the long flags without --; flags given here win)");
  }
  program.hook("preAction", async (_program, command) => {
    const file = command.opts<{ config?: string }>().config;
    if (file !== undefined) await applyConfig(command, file);
    for (const option of required.get(command) ?? []) {
      if (command.getOptionValue(option.attributeName()) === undefined) {
        command.error(`error: required option '${option.flags}' not specified${file === undefined ? "" : ` (nor in ${file})`}`, {
          code: "commander.missingMandatoryOptionValue",
        });
      }
    }
  });
}
