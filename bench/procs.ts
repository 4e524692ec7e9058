/**
 * Child-process bookkeeping for the bench: start a process, wait for its "ready" line,
 * keep the tail of its output for error messages, and kill everything on the way out —
 * on success, on error and on Ctrl-C — so a failed run never leaves a relay behind.
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import type { ChildMessage } from "./shared.js";

const children = new Set<ChildProcess>();
/** Set once we stop things on purpose, so only unexpected exits are reported. */
let stopping = false;
/** Processes stopped on purpose one by one (stopProcess). */
const stopped = new WeakSet<ChildProcess>();
const TAIL_LINES = 20;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Keeps the last lines of a stream; the pipe must be drained anyway or the child blocks. */
function tail(child: ChildProcess): () => string {
  const lines: string[] = [];
  const keep = (d: Buffer): void => {
    lines.push(...d.toString().split("\n").filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - TAIL_LINES));
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => lines.join("\n");
}

export interface Started {
  child: ChildProcess;
  pid: number;
  match: RegExpMatchArray;
  output: () => string;
}

/** `node …` as a command line, run in network namespace `netns` if given (`ip netns exec` execs, so the pid stays node's). */
function nodeCommand(argv: string[], netns: string | undefined): [string, string[]] {
  return netns ? ["ip", ["netns", "exec", netns, process.execPath, ...argv]] : [process.execPath, argv];
}

/** Spawns `node [nodeArgs] cli args…` (in `netns` if given) and resolves once stdout matches `ready` (within `timeoutMs`). */
export function startCli(
  cli: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  nodeArgs: string[] = [],
  timeoutMs = 20_000,
  netns?: string,
): Promise<Started> {
  const [command, argv] = nodeCommand([...nodeArgs, cli, ...args], netns);
  const child = track(spawn(command, argv, { env, stdio: ["ignore", "pipe", "pipe"] }));
  const output = tail(child);
  const what = `fernlink ${args.slice(0, 2).join(" ")}`;
  return new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => reject(new Error(`${what}: not ready after ${timeoutMs} ms\n${output()}`)), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}\n${output()}`));
    });
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
      const match = stdout.match(ready);
      if (!match) return;
      clearTimeout(timer);
      // A relay that dies mid-run makes the next job fail; say which process it was and why.
      child.once("exit", (code, signal) => {
        if (!stopping && !stopped.has(child)) process.stderr.write(`${what} exited unexpectedly (${signal ?? code})\n${output()}\n`);
      });
      resolve({ child, pid: child.pid!, match, output });
    });
  });
}

/** Runs a one-shot CLI command (login, device add, …) and resolves with its stdout. */
export async function runCli(cli: string, args: string[], env: NodeJS.ProcessEnv, netns?: string): Promise<string> {
  const [command, argv] = nodeCommand([cli, ...args], netns);
  const child = track(spawn(command, argv, { env, stdio: ["ignore", "pipe", "pipe"] }));
  const output = tail(child);
  let stdout = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  // "close", not "exit": the output can still be in the pipes when the process has exited.
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0) throw new Error(`fernlink ${args.slice(0, 2).join(" ")} exited with ${code}\n${output()}`);
  return stdout;
}

/**
 * Spawns any program (sshd, ssh, socat, iperf3, the WAN delay) and resolves once its stdout
 * or stderr matches `ready`; kept and stopped like the Fernlink processes.
 */
export function startCommand(
  command: string,
  args: string[],
  ready: RegExp,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; stdin?: boolean } = {},
): Promise<Started> {
  const child = track(spawn(command, args, { env: options.env ?? process.env, stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"] }));
  const output = tail(child);
  const what = `${command} ${args.slice(0, 3).join(" ")}`;
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`${what}: not ready after ${timeoutMs} ms\n${output()}`)), timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}\n${output()}`));
    };
    child.once("exit", onExit);
    const onData = (d: Buffer): void => {
      seen += d.toString();
      const match = seen.match(ready);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      child.once("exit", (code, signal) => {
        if (!stopping && !stopped.has(child)) process.stderr.write(`${what} exited unexpectedly (${signal ?? code})\n${output()}\n`);
      });
      resolve({ child, pid: child.pid!, match, output });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });
}

/** Runs a program to its end and resolves with its stdout; rejects with its output on a non-zero exit. */
export async function runCommand(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const child = track(spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] }));
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  // "close", not "exit": the output can still be in the pipes when the process has exited.
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${code}\n${stderr.slice(-2000)}`);
  return stdout;
}

/** A forked bench helper (targets, loadgen) that talks over IPC. */
export class Helper {
  readonly child: ChildProcess;
  constructor(script: URL) {
    this.child = track(fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  }
  get pid(): number {
    return this.child.pid!;
  }
  /** Sends `message` (if any) and waits for the next answer. */
  request(message: unknown, timeoutMs: number): Promise<ChildMessage & { ok: true }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`bench helper gave no answer within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (m: ChildMessage): void => (m.ok ? done(undefined, m) : done(new Error(m.error)));
      const onExit = (code: number | null): void => done(new Error(`bench helper exited with ${code}`));
      const done = (err?: Error, m?: ChildMessage & { ok: true }): void => {
        clearTimeout(timer);
        this.child.off("message", onMessage).off("exit", onExit);
        if (err) reject(err);
        else resolve(m!);
      };
      this.child.on("message", onMessage).once("exit", onExit);
      if (message !== undefined) this.child.send(message as object);
    });
  }
}

/** Stops one started process with `signal` (SIGKILL plays a crash) and waits until it is gone. */
export async function stopProcess(p: Pick<Started, "child">, signal: NodeJS.Signals): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  stopped.add(p.child);
  const exited = new Promise((resolve) => p.child.once("exit", resolve));
  p.child.kill(signal);
  await exited;
}

/** Stops the started processes with these pids (SIGTERM) and waits until they are gone. */
export async function stopPids(pids: readonly number[]): Promise<void> {
  const mine = [...children].filter((child) => child.pid !== undefined && pids.includes(child.pid));
  await Promise.all(mine.map((child) => stopProcess({ child }, "SIGTERM")));
}

/** SIGTERM everything we started, then SIGKILL what is still there after `graceMs`. */
export async function stopAll(graceMs = 2000): Promise<void> {
  stopping = true;
  const alive = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(
    alive.map(
      (c) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            c.kill("SIGKILL");
            resolve();
          }, graceMs);
          c.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          c.kill("SIGTERM");
        }),
    ),
  );
}

/** Last resort: if the orchestrator dies abruptly, take the children with it. */
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
