import { type ChildProcess, spawn } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { CLI, cliEnv, type RunResult, type Sandbox } from "./processes.js";

/**
 * Puts a `fernlink` command on PATH (a two-line script that runs the built CLI) in the
 * sandbox, so text written for a user's shell runs as the user would run it.
 */
export async function fernlinkOnPath(sb: Sandbox): Promise<string> {
  const dir = sb.path("bin");
  await mkdir(dir, { recursive: true });
  const bin = sb.path("bin", "fernlink");
  await writeFile(bin, `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  await chmod(bin, 0o755);
  return dir;
}

export interface ShellOptions {
  /** The directory the script runs in. */
  cwd: string;
  /** Directory holding `fernlink`, put first on PATH. */
  bin: string;
  /** `FERNLINK_HOME` and any further variables; `undefined` removes one. */
  home: string;
  env?: Record<string, string | undefined>;
}

/** A bash script running in its own process group, its output collected as it comes. */
export class ShellProc {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<RunResult>;
  private readonly waiters = new Set<() => void>();
  private done = false;

  constructor(
    readonly script: string,
    options: ShellOptions,
  ) {
    const env = cliEnv({ home: options.home, env: options.env ?? {} });
    env["PATH"] = `${options.bin}:${env["PATH"] ?? ""}`;
    this.child = spawn("bash", ["-e", "-c", script], { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const out = { stdout: "", stderr: "" };
    const collect =
      (stream: "stdout" | "stderr") =>
      (text: string): void => {
        out[stream] += text;
        this.output += text;
        for (const w of this.waiters) w();
      };
    this.child.stdout!.setEncoding("utf8").on("data", collect("stdout"));
    this.child.stderr!.setEncoding("utf8").on("data", collect("stderr"));
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.done = true;
        for (const w of this.waiters) w();
        resolve({ args: [script], code, signal, ...out });
      });
    });
  }

  /** Resolves once the output (stdout and stderr) has a line matching `pattern`; fails if the script ends first. */
  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const finish = (err: Error | undefined, m?: RegExpMatchArray): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve(m!);
      };
      const check = (): void => {
        for (const line of this.output.split("\n")) {
          const m = pattern.exec(line);
          if (m) return void finish(undefined, m);
        }
        if (this.done) finish(new Error(`script ended before printing ${pattern}:\n${this.script}\n--- output\n${this.output}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`no line ${pattern} within ${timeoutMs} ms from:\n${this.script}\n--- output\n${this.output}`)),
        timeoutMs,
      );
      this.waiters.add(check);
      check();
    });
  }

  /** Ends the whole process group (the script and what it started) and waits for the script. */
  async stop(): Promise<void> {
    if (this.done || this.child.pid === undefined) return;
    process.kill(-this.child.pid, "SIGTERM");
    const timer = setTimeout(() => this.child.pid !== undefined && !this.done && process.kill(-this.child.pid, "SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Runs a bash script to its end; ended after `timeoutMs`. */
export async function runShell(script: string, options: ShellOptions, timeoutMs = 60_000): Promise<RunResult> {
  const proc = new ShellProc(script, options);
  const timer = setTimeout(() => void proc.stop(), timeoutMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}
