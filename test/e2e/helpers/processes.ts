import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI (`bin fernlink`): dist-test/test/e2e/helpers → dist/cli.js. */
export const CLI = fileURLToPath(new URL("../../../../dist/cli.js", import.meta.url));

/** Password of every user the tests create (FERNLINK_PASSWORD). */
export const PASSWORD = "correct horse battery staple";

/** How a process ended and what it printed. */
export interface RunResult {
  args: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  /** `FERNLINK_HOME` of the process: whose session it uses. */
  home: string;
  /** Extra or overridden variables; `undefined` removes one. */
  env?: Record<string, string | undefined>;
  /** The script node runs instead of the built CLI (the one-file agent). */
  script?: string;
  /** Working directory (default: the test's). */
  cwd?: string;
}

/** The environment of a CLI process: nothing Fernlink-related leaks in from the outside. */
export function cliEnv(options: SpawnOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("FERNLINK_") || key.startsWith("NODE_TEST") || key === "NODE_EXTRA_CA_CERTS" || key === "NODE_OPTIONS") continue;
    // A proxy of the machine running the tests would carry the tests' loopback connections.
    if (/^(https?|all|no)_proxy$/i.test(key)) continue;
    env[key] = value;
  }
  env["FERNLINK_HOME"] = options.home;
  env["FERNLINK_PASSWORD"] = PASSWORD;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Summary of a run for assertion messages. */
export function describeRun(r: RunResult): string {
  return `fernlink ${r.args.join(" ")} → exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** The `fernlink: …` lines a command wrote to stderr. */
export function messageLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("fernlink: "));
}

/** Asserts the exit status, and for failures exactly one `fernlink: ` line matching `message`. */
export function assertExit(r: RunResult, status: 0 | 1 | 2 | 3, message?: RegExp): string | undefined {
  assert.equal(r.code, status, `unexpected exit status\n${describeRun(r)}`);
  if (status === 0 && !message) return undefined;
  const lines = messageLines(r.stderr);
  assert.equal(lines.length, 1, `expected exactly one "fernlink: " line on stderr\n${describeRun(r)}`);
  if (message) assert.match(lines[0]!, message, describeRun(r));
  return lines[0];
}

/** A long-running CLI process (server, agent, connect) whose output is watched line by line. */
export class Proc {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<RunResult>;
  private exitResult: RunResult | undefined;
  private readonly lineWaiters = new Set<() => void>();

  constructor(
    readonly args: string[],
    options: SpawnOptions,
  ) {
    this.child = spawn(process.execPath, [options.script ?? CLI, ...args], {
      env: cliEnv(options),
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    this.child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      this.stdout += s;
      for (const w of this.lineWaiters) w();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (s: string) => (this.stderr += s));
    this.child.stdin!.on("error", () => {});
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.exitResult = { args, code, signal, stdout: this.stdout, stderr: this.stderr };
        for (const w of this.lineWaiters) w();
        resolve(this.exitResult);
      });
    });
  }

  get running(): boolean {
    return this.exitResult === undefined;
  }

  /** Resolves with the first complete stdout line matching `pattern`; fails if the process exits first. */
  waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (const line of this.stdout.split("\n").slice(0, -1)) {
          const m = pattern.exec(line);
          if (m) return void done(undefined, m);
        }
        if (this.exitResult) done(new Error(`process exited before printing ${pattern}\n${describeRun(this.exitResult)}`));
      };
      const timer = setTimeout(
        () =>
          done(
            new Error(`no line ${pattern} within ${timeoutMs} ms from fernlink ${this.args.join(" ")}\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`),
          ),
        timeoutMs,
      );
      const done = (err: Error | undefined, m?: RegExpMatchArray): void => {
        clearTimeout(timer);
        this.lineWaiters.delete(check);
        if (err) reject(err);
        else resolve(m!);
      };
      this.lineWaiters.add(check);
      check();
    });
  }

  /** Sends `signal` and waits for the exit; escalates to SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<RunResult> {
    if (this.exitResult) return this.exitResult;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** Lines by which a command hands out a secret on stdout, and the kind of secret each names. */
const HANDED_OUT: readonly { pattern: RegExp; kind: string }[] = [
  { pattern: /^activation key: (\S+)$/gm, kind: "activation key" },
  { pattern: /^api token: (\S+)$/gm, kind: "API token" },
  { pattern: /^relay key: (\S+)$/gm, kind: "relay key" },
];

/**
 * A private temp directory for one test file, with every process started in it; `cleanup()`
 * (call it from `after()`) kills what still runs and removes the directory. It also knows the
 * secrets its commands used or handed out, and at cleanup fails when one of them shows up on
 * the stderr of a long-running process (server, relay, agent, connect): no secret in a log.
 */
export class Sandbox {
  private readonly procs = new Set<Proc>();
  private readonly longRunning: Proc[] = [];
  private readonly cleanups: (() => unknown)[] = [];
  /** Secret → its kind, for the failure message (which never shows the secret). */
  private readonly secrets = new Map<string, string>([[PASSWORD, "password (FERNLINK_PASSWORD)"]]);

  private constructor(readonly dir: string) {}

  /** Notes a secret that no log may show: a test's own password, a key or token it made another way. */
  noteSecret(kind: string, value: string): void {
    // Short values could turn up in a log by chance; every secret the tests use is longer.
    if (value.length >= 8) this.secrets.set(value, kind);
  }

  /** Notes the secrets a command handed out on stdout (activation keys, API tokens, relay keys). */
  private noteHandedOut(stdout: string): void {
    for (const { pattern, kind } of HANDED_OUT) for (const m of stdout.matchAll(pattern)) this.noteSecret(kind, m[1]!);
  }

  /** Notes the session tokens of the users' homes (DIR/NAME/session.json), before the folder goes. */
  private async noteSessionTokens(): Promise<void> {
    const entries = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const text = await readFile(join(this.dir, entry.name, "session.json"), "utf8").catch(() => undefined);
      const token = text === undefined ? undefined : (JSON.parse(text) as { token?: unknown }).token;
      if (typeof token === "string") this.noteSecret("session token", token);
    }
  }

  /** Which secret kinds showed up on which long-running process's stderr; the secrets themselves are never named. */
  leakedSecrets(): string[] {
    const found: string[] = [];
    const secrets = [...this.secrets.keys()];
    for (const [i, proc] of this.longRunning.entries()) {
      // The command's first words name the process; one that holds a secret is left out.
      const command = proc.args
        .slice(0, 2)
        .map((arg) => (secrets.some((secret) => arg.includes(secret)) ? "…" : arg))
        .join(" ");
      for (const [secret, kind] of this.secrets) if (proc.stderr.includes(secret)) found.push(`${kind} on the stderr of process ${i + 1}: fernlink ${command}`);
    }
    return found;
  }

  static async create(label: string): Promise<Sandbox> {
    return new Sandbox(await mkdtemp(join(tmpdir(), `fernlink-e2e-${label}-`)));
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Runs a CLI command to its end (killed after `timeoutMs`). */
  run(args: string[], options: SpawnOptions & { input?: string; timeoutMs?: number }): Promise<RunResult> {
    const proc = this.spawn(args, options);
    if (options.input !== undefined) proc.child.stdin!.end(options.input);
    else proc.child.stdin!.end();
    const timer = setTimeout(() => proc.child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    return proc.exited
      .then((result) => {
        this.noteHandedOut(result.stdout);
        return result;
      })
      .finally(() => {
        clearTimeout(timer);
        this.procs.delete(proc);
      });
  }

  /** Starts a long-running CLI command; it is killed by `cleanup()` if still running, and its stderr checked for secrets. */
  start(args: string[], options: SpawnOptions): Proc {
    const proc = this.spawn(args, options);
    this.longRunning.push(proc);
    return proc;
  }

  private spawn(args: string[], options: SpawnOptions): Proc {
    const proc = new Proc(args, options);
    this.procs.add(proc);
    void proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** Registers something else to close at cleanup (test servers). */
  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.stop("SIGTERM", 3_000)));
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // Best effort: a target that is already closed is fine.
      }
    }
    await this.noteSessionTokens();
    await rm(this.dir, { recursive: true, force: true });
    const leaks = this.leakedSecrets();
    if (leaks.length > 0) throw new Error(`a secret showed up in a log:\n  ${leaks.join("\n  ")}`);
  }
}

/** Polls `probe` until it returns something other than undefined; an error `isFinal` accepts ends the wait at once. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  intervalMs = 100,
  isFinal: (err: unknown) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      if (isFinal(err)) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}${last ? `; last error: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
