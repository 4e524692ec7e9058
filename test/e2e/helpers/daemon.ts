import { type ChildProcess, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import net from "node:net";
import { waitUntil } from "./processes.js";

/** What a private daemon of a test needs: its command, the loopback port it serves, its folder. */
export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  port: number;
  /** Its own temporary folder, removed when it stops. */
  dir: string;
  /** More to say when it exits before listening (its own log file, say). */
  explain?: () => Promise<string>;
}

/**
 * Starts a Debian daemon (squid, nginx) in the foreground and resolves once it accepts TCP on
 * its loopback port; returns how to stop it (SIGTERM, SIGKILL after 3 s, its folder removed).
 */
export async function startDaemon(spec: DaemonSpec): Promise<{ stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(spec.command, spec.args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(spec.dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      `${spec.name} listening on 127.0.0.1:${spec.port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${spec.name} exited (${child.exitCode}): ${stderr} ${(await spec.explain?.()) ?? ""}`);
        return new Promise<true | undefined>((resolve) => {
          const s = net.connect(spec.port, "127.0.0.1", () => {
            s.destroy();
            resolve(true);
          });
          s.on("error", () => resolve(undefined));
        });
      },
      15_000,
      100,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}
