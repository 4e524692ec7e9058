import type { Command } from "commander";

/** `fernlink user …`, `passwd`, `otp …`, `account policy`, `token …`. */
export function registerUserCommands(program: Command): void {
  void program;
}
