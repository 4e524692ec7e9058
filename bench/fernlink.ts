/**
 * Brings up a real Fernlink stack on loopback exactly as a user would, through the CLI:
 * server (access service + relay), login, device add, agent register + run, and one
 * `fernlink connect` with a local forward to each bench target.
 */
import { join } from "node:path";
import { runCli, startCli } from "./procs.js";
import type { TargetPorts } from "./shared.js";

export interface Stack {
  url: string;
  pids: { server: number; agent: number; client: number };
  /** The client's local forward port for each target. */
  forwards: TargetPorts;
}

/** Starts everything below `tmp`; the caller stops the processes (procs.stopAll) and removes `tmp`. */
export async function startStack(cli: string, tmp: string, targets: TargetPorts, cpuProfDir?: string): Promise<Stack> {
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

  const server = await startCli(
    cli,
    // The connection loops open streams far faster than a person's tools do: the per-user
    // stream rate (a fairness limit, 50/s by default) is lifted, so the data plane is measured.
    ["server", "--data", data, "--listen", "127.0.0.1:0", "--init-account", "bench", "--init-user", "bench", "--stream-rate", "1000000"],
    env,
    /fernlink server ready: (https:\/\/\S+)/,
    nodeArgs,
  );
  const url = server.match[1]!;
  await runCli(cli, ["login", "--server", url, "--ca", ca, "--account", "bench", "--user", "bench"], env);
  const added = await runCli(cli, ["device", "add", "plc", "--lan", "127.0.0.0/8"], env);
  const key = added.match(/^activation key: (\S+)$/m)?.[1];
  if (!key) throw new Error(`device add printed no activation key:\n${added}`);
  await runCli(cli, ["agent", "register", "--server", url, "--ca", ca, "--key", key, "--state", agentState], env);
  const agent = await startCli(cli, ["agent", "run", "--state", agentState], env, /fernlink agent online: .*\n/, nodeArgs);

  const order = ["bulk", "echo", "banner"] as const;
  const forwardArgs = order.flatMap((t) => ["--forward", `0:127.0.0.1:${targets[t]}`]);
  const client = await startCli(cli, ["connect", "plc", ...forwardArgs], env, /(?:forwarding 127\.0\.0\.1:\d+ -> .*\n){3}/, nodeArgs);
  const ports = [...client.match[0].matchAll(/forwarding 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:(\d+)/g)];
  const forwardTo = (t: (typeof order)[number]): number => {
    const m = ports.find((p) => Number(p[2]) === targets[t]);
    if (!m) throw new Error(`connect printed no forward for the ${t} target:\n${client.output()}`);
    return Number(m[1]);
  };
  return {
    url,
    pids: { server: server.pid, agent: agent.pid, client: client.pid },
    forwards: { bulk: forwardTo("bulk"), echo: forwardTo("echo"), banner: forwardTo("banner") },
  };
}
