import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { freeUdpPort } from "../../../src/shared/free-ports-test-kit.js";
import { type Sandbox, waitUntil } from "./processes.js";

/**
 * A private dnsmasq on loopback, the real UDP service the UDP tests reach through the tunnel:
 * it answers for plc.example only (DNSMASQ_ANSWER) and reads no system configuration.
 */

const run = promisify(execFile);

/** The name dnsmasq answers for, and its answer. */
export const DNSMASQ_NAME = "plc.example";
export const DNSMASQ_ANSWER = "10.1.2.3";

/** dig's short answer for `name` from a server on loopback `port`, sent from `from`; "" when nothing answered within `seconds`. */
export async function dig(port: number, name: string, options: { from?: string; seconds?: number } = {}): Promise<string> {
  const args = ["-b", options.from ?? "127.0.0.1", "@127.0.0.1", "-p", String(port), name, "A", "+short", "+tries=1", `+time=${options.seconds ?? 2}`];
  try {
    return (await run("dig", args)).stdout.trim();
  } catch (err) {
    // dig exits 9 when no server answered.
    if ((err as { code?: number }).code === 9) return "";
    throw err;
  }
}

/**
 * Starts dnsmasq on a free UDP port, stopped with the sandbox; resolves with the port once it answers.
 * dnsmasq also listens on TCP at the same port, which another process may hold although the UDP
 * port was free: then dnsmasq exits at once ("Address already in use") and another port is tried.
 * `pickPort` gives the ports to try (a test gives a taken one first).
 */
export async function startDnsmasq(sb: Sandbox, pickPort: () => Promise<number> = freeUdpPort): Promise<number> {
  const said: string[] = [];
  for (let attempt = 1; attempt <= 5; attempt++) {
    const port = await pickPort();
    const dnsmasq: ChildProcess = spawn(
      "/usr/sbin/dnsmasq",
      [
        "--no-daemon",
        `--port=${port}`,
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        `--address=/${DNSMASQ_NAME}/${DNSMASQ_ANSWER}`,
        "--conf-file=/dev/null",
        "--pid-file=",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    dnsmasq.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    let exited: string | undefined;
    dnsmasq.once("error", (err) => (exited = err.message));
    dnsmasq.once("exit", (code, signal) => (exited ??= `exit ${code ?? signal}`));
    sb.defer(() => dnsmasq.kill());
    try {
      await waitUntil(
        "dnsmasq answers",
        async () => {
          if (exited !== undefined) throw new DnsmasqExited(`dnsmasq on port ${port} ended (${exited}): ${stderr.trim()}`);
          return (await dig(port, DNSMASQ_NAME).catch(() => "")) === DNSMASQ_ANSWER ? true : undefined;
        },
        30_000,
        200,
        (err) => err instanceof DnsmasqExited,
      );
      return port;
    } catch (err) {
      if (!(err instanceof DnsmasqExited)) throw new Error(`${(err as Error).message}; dnsmasq said: ${stderr.trim() || "nothing"}`);
      said.push(err.message);
    }
  }
  throw new Error(`dnsmasq did not start:\n  ${said.join("\n  ")}`);
}

class DnsmasqExited extends Error {}
