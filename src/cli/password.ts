import { createInterface } from "node:readline";
import { UsageError } from "../protocol/errors.js";

/**
 * Reads a password from the named environment variable, or asks on the terminal without
 * echo. Never from argv: command lines are visible to every local user.
 */
export async function readPassword(envName: string, prompt: string): Promise<string> {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) throw new UsageError(`no password: set ${envName} or run on a terminal to be asked`);
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void };
    let asked = false;
    let answered = false;
    out._writeToOutput = (s: string) => {
      // Show the prompt once, then echo nothing while the password is typed.
      if (!asked) {
        process.stderr.write(s);
        asked = true;
      }
    };
    rl.on("SIGINT", () => rl.close());
    rl.once("close", () => {
      process.stderr.write("\n");
      if (!answered) reject(new UsageError(`no password given; set ${envName} or type it when asked`));
    });
    rl.question(prompt, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
  });
}

/**
 * Reads a new password from the named environment variable, or asks for it twice on the
 * terminal so a typing slip does not set a password nobody knows.
 */
export async function readNewPassword(envName: string, prompt: string): Promise<string> {
  if (process.env[envName]) return process.env[envName];
  const first = await readPassword(envName, prompt);
  const again = await readPassword(envName, "again, to confirm: ");
  if (first !== again) throw new UsageError("the two passwords differ; nothing was changed");
  return first;
}
