import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vncPasswordFile } from "../../../src/protocol/vnc-auth.js";
import { freePort } from "../../../src/shared/free-ports-test-kit.js";

/** Where Debian's tigervnc-standalone-server puts Xvnc. */
export const XVNC = "/usr/bin/Xvnc";

/** Colour painted on the root window (by xsetroot), so a test can tell a drawn framebuffer. */
export const XVNC_BACKGROUND = { hex: "#3366cc", red: 0x33, green: 0x66, blue: 0xcc } as const;

/** A running Xvnc with VNC Authentication on a loopback port. */
export interface Xvnc {
  /** RFB port on 127.0.0.1. */
  port: number;
  /** X display number (`:N`). */
  display: number;
  /** The VNC password it expects. */
  password: string;
  /** Desktop size. */
  width: number;
  height: number;
  /** Name the desktop announces in ServerInit. */
  desktopName: string;
  /** The root window colour, or undefined when xsetroot (x11-xserver-utils) is missing and the default pattern shows. */
  background: typeof XVNC_BACKGROUND | undefined;
  /** Stops the server (SIGTERM, SIGKILL after 5 s) and removes its files. */
  stop(): Promise<void>;
}

/** Why Xvnc cannot run here, or undefined when it can. Tests skip on a reason, or fail when CI=true. */
export function xvncMissing(): string | undefined {
  return existsSync(XVNC) ? undefined : `${XVNC} not found (Debian package tigervnc-standalone-server)`;
}

/** First display number tried; low numbers are left to real desktops. */
const FIRST_DISPLAY = 40;
const DISPLAYS_TRIED = 60;
const START_TIMEOUT_MS = 15_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when an X server answers on display `n` (a live lock or a socket that accepts). */
async function displayInUse(n: number): Promise<boolean> {
  const lock = `/tmp/.X${n}-lock`;
  if (existsSync(lock)) {
    const pid = Number.parseInt(readFileSync(lock, "latin1").trim(), 10);
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) return true;
  }
  const socket = `/tmp/.X11-unix/X${n}`;
  if (!existsSync(socket)) return false;
  // A socket left by a killed server refuses connections; X servers unlink and rebind it.
  return new Promise((resolve) => {
    const probe = createConnection(socket);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/** Starts Xvnc on `display`; resolves once it is ready, or rejects with its output when it exits first. */
function launch(display: number, port: number, passwordFile: string, desktopName: string): Promise<ChildProcess> {
  const args = [
    `:${display}`,
    ...["-rfbport", String(port), "-interface", "127.0.0.1", "-localhost"],
    ...["-SecurityTypes", "VncAuth", "-PasswordFile", passwordFile, "-UseBlacklist=0"],
    ...["-geometry", "640x480", "-depth", "24", "-desktop", desktopName],
    ...["-nolisten", "tcp", "-displayfd", "3"],
  ];
  const child = spawn(XVNC, args, { stdio: ["ignore", "pipe", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer): void => {
    if (output.length < 20_000) output += chunk.toString("utf8");
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  return new Promise((resolve, reject) => {
    let announced = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Xvnc :${display} was not ready within ${START_TIMEOUT_MS} ms\n${output}`));
    }, START_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`Xvnc :${display} ${why}\n${output}`));
    };
    child.once("error", (err) => fail(`could not start: ${err.message}`));
    child.once("exit", (code, signal) => fail(`exited with ${code ?? signal} before it was ready`));
    // -displayfd: the server writes its display number once it accepts connections.
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (chunk: Buffer) => {
      announced += chunk.toString("latin1");
      if (!announced.includes("\n")) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolve(child);
    });
  });
}

/** Paints the root window; false when xsetroot is not installed. */
async function paintRoot(display: number): Promise<boolean> {
  const child = spawn("xsetroot", ["-solid", XVNC_BACKGROUND.hex], { env: { ...process.env, DISPLAY: `:${display}` }, stdio: "ignore" });
  const result = await new Promise<number | "missing">((resolve) => {
    child.once("error", () => resolve("missing"));
    child.once("exit", (code) => resolve(code ?? -1));
  });
  if (result === "missing") return false;
  if (result !== 0) throw new Error(`xsetroot -solid ${XVNC_BACKGROUND.hex} on :${display} exited with ${result}`);
  return true;
}

/** Starts Xvnc 640x480x24 on a free display and loopback port, with VNC Authentication for `password`. */
export async function startXvnc(password = "fern-vnc"): Promise<Xvnc> {
  const missing = xvncMissing();
  if (missing) throw new Error(missing);
  const dir = await mkdtemp(join(tmpdir(), "fernlink-xvnc-"));
  const passwordFile = join(dir, "passwd");
  await writeFile(passwordFile, vncPasswordFile(password), { mode: 0o600 });
  const desktopName = "fernlink-test";

  const errors: string[] = [];
  for (let display = FIRST_DISPLAY; display < FIRST_DISPLAY + DISPLAYS_TRIED; display++) {
    if (await displayInUse(display)) continue;
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await launch(display, port, passwordFile, desktopName);
    } catch (err) {
      // Another test may have taken this display or port a moment ago: try the next one.
      errors.push((err as Error).message.split("\n")[0]!);
      continue;
    }
    const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
    const killOnExit = (): void => void child.kill("SIGKILL");
    process.once("exit", killOnExit);
    const stop = async (): Promise<void> => {
      process.off("exit", killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    };
    try {
      const painted = await paintRoot(display);
      return { port, display, password, width: 640, height: 480, desktopName, background: painted ? XVNC_BACKGROUND : undefined, stop };
    } catch (err) {
      await stop();
      throw err;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`could not start Xvnc on displays :${FIRST_DISPLAY}–:${FIRST_DISPLAY + DISPLAYS_TRIED - 1}:\n${errors.join("\n")}`);
}
