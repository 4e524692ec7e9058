import { createInterface } from "node:readline";
import { REASON_HOW, validateReason } from "../protocol/connect-reason.js";
import { type FernlinkError, UsageError } from "../protocol/errors.js";

/** Where a connect reason comes from besides the flag: the environment, and a terminal to ask on. */
export interface ReasonSources {
  env: string | undefined;
  /** Asks on the terminal; undefined when there is none to ask on (stdin is data, or not a TTY). */
  ask: ((question: string) => Promise<string>) | undefined;
}

/** The one line asked on a terminal. */
export const REASON_QUESTION = "reason for this connection (e.g. a ticket number): ";

/** Asks one line on the terminal, echoed (a reason is no secret). */
export function askOnTerminal(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let answered = false;
    rl.on("SIGINT", () => rl.close());
    rl.once("close", () => {
      if (!answered) reject(new UsageError(`no connect reason given; ${REASON_HOW}`));
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
  });
}

function checked(text: string, from: string): string {
  try {
    return validateReason(text);
  } catch (err) {
    throw new UsageError(`${from}: ${(err as FernlinkError).message}`);
  }
}

/**
 * The reason `connect` sends with its streams: --reason, else FERNLINK_REASON, else (when the
 * account requires one) asked on the terminal; without any, a required reason is a usage error
 * saying how to give it. Undefined when none is given and none is required.
 */
export async function connectReason(flag: string | undefined, required: boolean, sources: ReasonSources): Promise<string | undefined> {
  if (flag !== undefined) return checked(flag, "--reason");
  if (sources.env !== undefined && sources.env !== "") return checked(sources.env, "FERNLINK_REASON");
  if (!required) return undefined;
  if (!sources.ask) throw new UsageError(`your account requires a reason for every connection; ${REASON_HOW}`);
  return checked(await sources.ask(REASON_QUESTION), "the reason given");
}
