import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { commandPath, ENVIRONMENT, EXAMPLES, runsItself } from "./help-text.js";
import { buildProgram } from "./main.js";

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/** The help text of a command as `--help` prints it, "after" texts included. */
function helpOf(cmd: Command): string {
  let text = "";
  cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  cmd.outputHelp();
  return text;
}

describe("command help", () => {
  const program = buildProgram();
  const commands = allCommands(program);
  const paths = new Set(commands.map(commandPath));

  it("shows an example of every command that runs something, calling that command", () => {
    for (const cmd of commands.filter(runsItself)) {
      const path = commandPath(cmd);
      const examples = EXAMPLES[path];
      assert.ok(examples && examples.length > 0, `no example for: fernlink ${path}`);
      for (const example of examples) assert.ok(example.includes(`fernlink ${path}`), `example of "${path}" runs another command: ${example}`);
      assert.match(helpOf(cmd), /^Examples?:$/m, path);
    }
  });

  it("has examples and environment notes only for commands that exist", () => {
    for (const path of [...Object.keys(EXAMPLES), ...Object.keys(ENVIRONMENT)]) assert.ok(paths.has(path), `no command "${path}"`);
  });

  it("shows each option's default once", () => {
    for (const cmd of commands) {
      const help = helpOf(cmd);
      for (const option of cmd.options) {
        const line = help.slice(help.indexOf(option.flags), help.indexOf("\n  -", help.indexOf(option.flags) + 1));
        assert.ok((line.match(/default/g) ?? []).length <= 1, `fernlink ${commandPath(cmd)} ${option.flags} names its default twice:\n${line}`);
      }
    }
  });

  it("names FERNLINK_PASSWORD under login and server", () => {
    for (const path of ["login", "server"]) {
      const cmd = commands.find((c) => commandPath(c) === path);
      assert.ok(cmd);
      assert.match(helpOf(cmd), /FERNLINK_PASSWORD/, path);
    }
  });
});
