import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "../protocol/errors.js";
import { parseSwitchText, type SwitchState } from "../protocol/key-switch.js";

/** Where the agent reads its key switch: a file holding one word, or a command printing it. */
export type SwitchSource = { kind: "file"; path: string; optional: boolean } | { kind: "command"; argv: string[] };

/** One reading of the switch: its position, or why it could not be read. */
export type SwitchReading = { state: SwitchState } | { problem: string };

/** The switch file inside the state directory: `fernlink agent switch` writes it; absent, the switch reads `remote`. */
export const DEFAULT_SWITCH_FILE = "switch";

/** How long a switch command may run before it is killed and the reading fails. */
export const SWITCH_COMMAND_TIMEOUT_MS = 3_000;

// Characters a shell would interpret: the command runs without one, so they would reach it literally.
const SHELL_SYNTAX = /[|;&<>`$(){}*?~]/;

/** Splits a command line into words: whitespace separates, single and double quotes group, backslash escapes. */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < command.length; i++) {
    const ch = command.charAt(i);
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < command.length) word = (word ?? "") + command.charAt(++i);
      else word = (word ?? "") + ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= "";
    } else if (ch === "\\" && i + 1 < command.length) {
      word = (word ?? "") + command.charAt(++i);
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (SHELL_SYNTAX.test(ch)) {
      throw new UsageError(
        `--switch command: "${command}" uses shell syntax (${ch}); it runs without a shell: put pipes and redirections in a script and name it`,
      );
    } else {
      word = (word ?? "") + ch;
    }
  }
  if (quote) throw new UsageError(`--switch command: "${command}" has an unclosed ${quote}`);
  if (word !== undefined) words.push(word);
  return words;
}

/** Parses `--switch file:PATH` or `--switch command:CMD`; without the flag, the state directory's switch file. */
export function parseSwitchSource(spec: string | undefined, stateDir: string): SwitchSource {
  if (spec === undefined) return { kind: "file", path: join(stateDir, DEFAULT_SWITCH_FILE), optional: true };
  if (spec.startsWith("file:") && spec.length > 5) return { kind: "file", path: spec.slice(5), optional: false };
  if (spec.startsWith("command:")) {
    const argv = splitCommand(spec.slice(8));
    if (argv.length > 0) return { kind: "command", argv };
  }
  throw new UsageError(`--switch "${spec}" must be file:PATH (a file holding off, online or remote) or command:CMD (printing one of them)`);
}

function reading(text: string, from: string): SwitchReading {
  const state = parseSwitchText(text);
  if (state) return { state };
  const shown = text
    .trim()
    .slice(0, 40)
    .replace(/[^\x20-\x7e]/g, "?");
  return { problem: `${from} says "${shown}", not off, online or remote` };
}

/** Reads a switch file; a missing optional file (no switch installed) reads `remote`. */
export async function readSwitchFile(path: string, optional: boolean): Promise<SwitchReading> {
  try {
    return reading(await readFile(path, "utf8"), path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && optional) return { state: "remote" };
    return { problem: `cannot read the switch file ${path} (${code ?? String(err)})` };
  }
}

/** Runs the switch command without a shell and reads its output; a failure, a timeout or other output is a problem. */
export function runSwitchCommand(argv: readonly string[], timeoutMs = SWITCH_COMMAND_TIMEOUT_MS): Promise<SwitchReading> {
  const [file, ...args] = argv;
  const shown = argv.join(" ");
  if (file === undefined) return Promise.resolve({ problem: "the switch command is empty" });
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 4096, env: commandEnv(), windowsHide: true }, (err, stdout) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
        const why = e.killed ? `timed out after ${timeoutMs} ms` : typeof e.code === "number" ? `exit status ${e.code}` : String(e.code ?? e.message);
        resolve({ problem: `the switch command "${shown}" failed (${why})` });
        return;
      }
      resolve(reading(stdout, `the switch command "${shown}"`));
    });
    // Nothing to read: a command waiting for input ends at once instead of at its timeout.
    child.stdin?.end();
  });
}

/** The agent's environment without Fernlink's own variables: the switch command needs none of them, and some may hold secrets. */
function commandEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("FERNLINK_")));
}

/** The reader for a source. */
export function switchReader(source: SwitchSource): () => Promise<SwitchReading> {
  return source.kind === "file" ? () => readSwitchFile(source.path, source.optional) : () => runSwitchCommand(source.argv);
}

/** How a source is named in logs. */
export function describeSwitchSource(source: SwitchSource): string {
  return source.kind === "file" ? `file ${source.path}${source.optional ? " (absent: remote)" : ""}` : `command ${source.argv.join(" ")}`;
}
