import type { Command } from "commander";
import { registerAgentCommands } from "./commands/agent.js";
import { registerCheckCommand } from "./commands/check.js";
import { createProgram, runProgram } from "./program.js";

/**
 * The program of the one-file agent (`dist/fernlink-agent.mjs`): `agent register|run|switch`
 * and `check`, nothing that needs the store, so the bundle holds no native module.
 */
export function buildAgentProgram(): Command {
  return createProgram([registerAgentCommands, registerCheckCommand]);
}

/** Runs the agent's CLI and returns the exit status, as `main` does for the full one. */
export function agentMain(argv: string[]): Promise<number> {
  return runProgram(buildAgentProgram(), argv);
}
