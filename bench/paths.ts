/**
 * The four paths the comparison (versus.ts, wan.ts) drives the same workloads through:
 * direct TCP, Fernlink (server + agent + `fernlink connect`, the CLI processes as users run
 * them), OpenSSH's `ssh -R` (a private sshd and a throwaway key, aes128-gcm) and socat (one
 * TCP hop, the floor). Each path exposes one local port per target and the processes whose
 * CPU it costs. Every listener is on loopback or in a network namespace the bench made.
 */

import { mkdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { type StackPlacement, startStack } from "./fernlink.js";
import { runCommand, startCommand } from "./procs.js";

export const PATHS = ["direct", "fernlink", "ssh", "socat"] as const;
export type PathName = (typeof PATHS)[number];

/** One path: where a client connects for each target, and the process trees it costs. */
export interface PathEnds<K extends string> {
  /** Host the client connects to (127.0.0.1, or the far end of the WAN link). */
  host: string;
  ports: Record<K, number>;
  /** Roots of the process trees that carry this path's bytes (none for direct). */
  pids: number[];
}

/** Runs `command args` inside network namespace `netns`, or as is. */
export function inNetns(netns: string | undefined, command: string, args: string[]): [string, string[]] {
  return netns ? ["ip", ["netns", "exec", netns, command, ...args]] : [command, args];
}

/** A free TCP port on 127.0.0.1 (the bench's own namespace); in a fresh namespace any port is free. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject).listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Where a path's processes run; see wan.ts. `listenHost` is what the client side connects to. */
export interface Placement {
  netns?: string;
  listenHost: string;
  /** A port allocator valid in `netns`. */
  port: () => Promise<number>;
}

export const LOOPBACK: Placement = { listenHost: "127.0.0.1", port: freePort };

/** socat's read size; its default of 8 KiB makes it, not the hop, the limit of a bulk stream. */
const SOCAT_BUFFER_BYTES = 128 * 1024;

/** socat: one `socat` per target, listening on `listenHost`, forking per connection. */
export async function startSocat<K extends string>(targets: Record<K, number>, at: Placement): Promise<PathEnds<K>> {
  const ports = {} as Record<K, number>;
  const pids: number[] = [];
  for (const k of Object.keys(targets) as K[]) {
    const port = await at.port();
    const listen = `TCP-LISTEN:${port},bind=${at.listenHost},reuseaddr,fork,nodelay`;
    const [cmd, args] = inNetns(at.netns, "socat", ["-d", "-d", "-b", String(SOCAT_BUFFER_BYTES), listen, `TCP:127.0.0.1:${targets[k]},nodelay`]);
    const p = await startCommand(cmd, args, /listening on/);
    ports[k] = port;
    pids.push(p.pid);
  }
  return { host: at.listenHost, ports, pids };
}

/**
 * `ssh -R`: a private sshd (its own config, host key and authorized key, all in `dir`;
 * nothing of the system's is read) and one `ssh -R` per path, the device side, with one
 * remote forward per target. The -R listeners are on `listenHost` (GatewayPorts
 * clientspecified lets the client name it); the client side connects to them directly.
 */
export async function startSshR<K extends string>(dir: string, targets: Record<K, number>, at: Placement): Promise<PathEnds<K>> {
  mkdirSync(dir, { recursive: true });
  // Debian's sshd refuses to start without its privilege separation directory (normally made at boot).
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const hostKey = join(dir, "host_ed25519");
  const userKey = join(dir, "user_ed25519");
  for (const f of [hostKey, userKey]) await runCommand("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "fernlink-bench", "-f", f]);
  await writeFile(join(dir, "authorized_keys"), await readFile(`${userKey}.pub`), { mode: 0o600 });
  const sshdPort = await at.port();
  const config = join(dir, "sshd_config");
  await writeFile(
    config,
    [
      `Port ${sshdPort}`,
      `ListenAddress 127.0.0.1`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile none`,
      `PermitRootLogin prohibit-password`,
      `PubkeyAuthentication yes`,
      `PasswordAuthentication no`,
      `KbdInteractiveAuthentication no`,
      `UsePAM no`,
      `StrictModes no`,
      `AllowTcpForwarding yes`,
      `GatewayPorts clientspecified`,
      `Ciphers aes128-gcm@openssh.com`,
      `Compression no`,
      `LogLevel INFO`,
      "",
    ].join("\n"),
  );
  const [sshdCmd, sshdArgs] = inNetns(at.netns, "/usr/sbin/sshd", ["-f", config, "-D", "-e"]);
  const sshd = await startCommand(sshdCmd, sshdArgs, /Server listening on 127\.0\.0\.1 port/);
  const knownHosts = join(dir, "known_hosts");
  const hostPub = (await readFile(`${hostKey}.pub`, "utf8")).split(" ").slice(0, 2).join(" ");
  await writeFile(knownHosts, `[127.0.0.1]:${sshdPort} ${hostPub}\n`);
  const keys = Object.keys(targets) as K[];
  const forwards = keys.flatMap((k) => ["-R", `${at.listenHost}:0:127.0.0.1:${targets[k]}`]);
  const sshArgs = [
    ...["-F", "/dev/null", "-N", "-T", "-p", String(sshdPort), "-i", userKey],
    ...["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes"],
    ...["-o", "Ciphers=aes128-gcm@openssh.com", "-o", "Compression=no", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=INFO"],
    ...forwards,
    "root@127.0.0.1",
  ];
  const [sshCmd, sshArgv] = inNetns(at.netns, "ssh", sshArgs);
  const ready = new RegExp(`(?:[\\s\\S]*?Allocated port \\d+ for remote forward to \\S+){${keys.length}}`);
  const ssh = await startCommand(sshCmd, sshArgv, ready);
  const allocated = [...ssh.match[0].matchAll(/Allocated port (\d+) for remote forward to 127\.0\.0\.1:(\d+)/g)];
  const ports = {} as Record<K, number>;
  for (const k of keys) {
    const m = allocated.find((a) => Number(a[2]) === targets[k]);
    if (!m) throw new Error(`ssh -R printed no allocated port for 127.0.0.1:${targets[k]}:\n${ssh.output()}`);
    ports[k] = Number(m[1]);
  }
  return { host: at.listenHost, ports, pids: [sshd.pid, ssh.pid] };
}

/** Fernlink: a whole stack through the CLI (fernlink.ts); the client's forwards are the path's ports. */
export async function startFernlink<K extends string>(
  cli: string,
  dir: string,
  targets: Record<K, number>,
  placement: StackPlacement = {},
  cpuProfDir?: string,
) {
  const stack = await startStack(cli, dir, targets, cpuProfDir, placement);
  const ends: PathEnds<K> = { host: "127.0.0.1", ports: stack.forwards, pids: [stack.pids.client, stack.pids.server, stack.pids.agent] };
  return { stack, ends };
}

/** `iperf3 -s` on `host`, the bulk target behind every path. */
export async function startIperfServer(at: Placement, host = "127.0.0.1"): Promise<number> {
  const port = await at.port();
  const [cmd, args] = inNetns(at.netns, "iperf3", ["-s", "-B", host, "-p", String(port), "--forceflush"]);
  await startCommand(cmd, args, /Server listening on/);
  return port;
}
