/**
 * Brings up a real Fernlink stack on loopback exactly as a user would, through the CLI:
 * server (access service + relay), login, device add, agent register + run, and one
 * `fernlink connect` with a local forward to each bench target. The WAN scenario (wan.ts)
 * runs the same stack split over two network namespaces: the server and agent in one, the
 * technician's `fernlink connect` in the other.
 */
import { join } from "node:path";
import { runCli, startCli } from "./procs.js";

export interface Stack<K extends string = "bulk" | "echo" | "banner"> {
  url: string;
  /** The CA file, environment and agent options a further device of this server needs (addDevice). */
  ca: string;
  env: NodeJS.ProcessEnv;
  pids: { server: number; agent: number; client: number };
  /** The client's local forward port for each target. */
  forwards: Record<K, number>;
}

/** Where the processes run: by default all on 127.0.0.1 in the bench's own namespace. */
export interface StackPlacement {
  /** Network namespace of the server and agent, and the address the server listens on and is reached at. */
  serverNetns?: string;
  serverHost?: string;
  /** Network namespace of `fernlink connect` (the technician's machine). */
  clientNetns?: string;
}

/** Starts everything below `tmp`; the caller stops the processes (procs.stopAll) and removes `tmp`. */
export async function startStack<K extends string>(
  cli: string,
  tmp: string,
  targets: Record<K, number>,
  cpuProfDir?: string,
  placement: StackPlacement = {},
): Promise<Stack<K>> {
  // A clean environment: no inherited log level, CA or database URL may change what is measured.
  const env: NodeJS.ProcessEnv = { ...process.env, FERNLINK_HOME: join(tmp, "home"), FERNLINK_PASSWORD: "bench-password-1234" };
  delete env["FERNLINK_LOG"];
  delete env["FERNLINK_CA"];
  delete env["FERNLINK_DB"];
  // Profiles are written when a process exits cleanly, i.e. on the SIGTERM from procs.stopAll.
  const nodeArgs = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
  const data = join(tmp, "data");
  const ca = join(data, "ca.pem");
  const agentState = join(tmp, "agent");
  const host = placement.serverHost ?? "127.0.0.1";
  const { serverNetns, clientNetns } = placement;

  const server = await startCli(
    cli,
    // The connection loops open streams far faster than a person's tools do: the per-user
    // stream rate (a fairness limit, 50/s by default) is lifted, so the data plane is measured.
    [
      "server",
      "--data",
      data,
      "--listen",
      `${host}:0`,
      ...(host === "127.0.0.1" ? [] : ["--hostname", host]),
      "--init-account",
      "bench",
      "--init-user",
      "bench",
      "--stream-rate",
      "1000000",
    ],
    env,
    /fernlink server ready: (https:\/\/\S+)/,
    nodeArgs,
    20_000,
    serverNetns,
  );
  const url = server.match[1]!;
  await runCli(cli, ["login", "--server", url, "--ca", ca, "--account", "bench", "--user", "bench"], env, clientNetns);
  const agent = await addDevice({ cli, url, ca, env }, "plc", agentState, { nodeArgs, netns: serverNetns });

  const order = Object.keys(targets) as K[];
  const forwardArgs = order.flatMap((t) => ["--forward", `0:127.0.0.1:${targets[t]}`]);
  const ready = new RegExp(`(?:forwarding 127\\.0\\.0\\.1:\\d+ -> .*\\n){${order.length}}`);
  // BENCH_CONNECT_ARGS adds flags to `fernlink connect` (e.g. --no-lanes), to compare one way of carrying streams with another.
  const extra = (process.env["BENCH_CONNECT_ARGS"] ?? "").split(" ").filter((a) => a !== "");
  const client = await startCli(cli, ["connect", "plc", ...forwardArgs, ...extra], env, ready, nodeArgs, 20_000, clientNetns);
  const ports = [...client.match[0].matchAll(/forwarding 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:(\d+)/g)];
  const forwards = {} as Record<K, number>;
  for (const t of order) {
    const m = ports.find((p) => Number(p[2]) === targets[t]);
    if (!m) throw new Error(`connect printed no forward for the ${t} target:\n${client.output()}`);
    forwards[t] = Number(m[1]);
  }
  return { url, ca, env, pids: { server: server.pid, agent: agent.pid, client: client.pid }, forwards };
}

/** Adds device `name` (LAN 127.0.0.0/8) as the logged-in admin, registers an agent into `state` and runs it until online. */
export async function addDevice(
  stack: { cli: string; url: string; ca: string; env: NodeJS.ProcessEnv },
  name: string,
  state: string,
  options: { nodeArgs?: string[]; netns?: string | undefined } = {},
): Promise<{ pid: number }> {
  const { cli, url, ca, env } = stack;
  const added = await runCli(cli, ["device", "add", name, "--lan", "127.0.0.0/8"], env, options.netns);
  const key = added.match(/^activation key: (\S+)$/m)?.[1];
  if (!key) throw new Error(`device add printed no activation key:\n${added}`);
  // The one-time key goes by environment, not argv, where any local user could read it.
  await runCli(cli, ["agent", "register", "--server", url, "--ca", ca, "--state", state], { ...env, FERNLINK_ACTIVATION_KEY: key }, options.netns);
  const agent = await startCli(cli, ["agent", "run", "--state", state], env, /fernlink agent online: .*\n/, options.nodeArgs ?? [], 20_000, options.netns);
  return { pid: agent.pid };
}
