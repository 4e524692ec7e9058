import type { Command } from "commander";

/** `fernlink group …`, `pool …`, `access …`. */
export function registerAccessRuleCommands(program: Command): void {
  void program;
}
