/**
 * Bulk over an emulated WAN (this kernel has no netem). The bench makes two network
 * namespaces, "tech" (the technician's machine) and "site" (server, agent, sshd, socat and
 * the iperf3 target), joined by one point-to-point link whose two TUN ends a user-space
 * forwarder (wan-delay.py) connects with a fixed delay each way. So the WAN sits where the
 * internet is: between the technician's client and the server (Fernlink: between
 * `fernlink connect` and the server; ssh -R, socat, direct: between iperf3 -c and the
 * listener on the site). Real TCP end to end sees the round trip. Namespaces are removed
 * when the run ends, fails or is interrupted (cleanupWan).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { BenchConfig } from "./config.js";
import { iperf } from "./iperf.js";
import { PATHS, type PathEnds, type PathName, type Placement, startFernlink, startIperfServer, startSocat, startSshR } from "./paths.js";
import { runCommand, type Started, startCommand, stopPids } from "./procs.js";
import type { Metric, VersusReport } from "./versus.js";

const TECH_ADDR = "10.255.77.1";
const SITE_ADDR = "10.255.77.2";
/** Large, so that the Python forwarder's per-packet cost is not what limits throughput. */
const LINK_MTU = 60_000;

const namespaces = new Set<string>();

/** Removes the namespaces this process made; safe to call more than once. */
export function cleanupWan(): void {
  for (const ns of namespaces) {
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // already gone
    }
    namespaces.delete(ns);
  }
}
process.on("exit", cleanupWan);

async function ip(...args: string[]): Promise<void> {
  await runCommand("ip", args);
}

interface Link {
  tech: string;
  site: string;
  delay: Started;
}

/** Two namespaces and the delayed link between them; `oneWayMs` can change later (setDelay). */
async function makeLink(oneWayMs: number): Promise<Link> {
  const id = `${process.pid}`;
  const tech = `fernlink-bench-tech-${id}`;
  const site = `fernlink-bench-site-${id}`;
  for (const ns of [tech, site]) {
    await ip("netns", "add", ns);
    namespaces.add(ns);
    await ip("-n", ns, "link", "set", "lo", "up");
  }
  const tunTech = `flbt${id}`.slice(0, 15);
  const tunSite = `flbs${id}`.slice(0, 15);
  const script = fileURLToPath(new URL("../../bench/wan-delay.py", import.meta.url));
  // -I -S: no user site packages or .pth imports, which take seconds on a busy machine.
  const delay = await startCommand("python3", ["-I", "-S", script, tunTech, tunSite, String(oneWayMs)], /ready/, { stdin: true });
  for (const [dev, ns, local, peer] of [
    [tunTech, tech, TECH_ADDR, SITE_ADDR],
    [tunSite, site, SITE_ADDR, TECH_ADDR],
  ] as const) {
    await ip("link", "set", dev, "netns", ns);
    await ip("-n", ns, "addr", "add", local, "peer", peer, "dev", dev);
    await ip("-n", ns, "link", "set", dev, "mtu", String(LINK_MTU), "up");
  }
  return { tech, site, delay };
}

async function setDelay(link: Link, oneWayMs: number): Promise<void> {
  const confirmed = new Promise<void>((resolve) => {
    const onData = (d: Buffer): void => {
      if (!d.toString().includes("delay")) return;
      link.delay.child.stdout?.off("data", onData);
      resolve();
    };
    link.delay.child.stdout?.on("data", onData);
  });
  link.delay.child.stdin?.write(`${oneWayMs}\n`);
  await confirmed;
}

/** Ports in a fresh namespace: nothing else listens there. */
function portsFrom(first: number): () => Promise<number> {
  let next = first;
  return () => Promise.resolve(next++);
}

/** WAN metrics (wan{RTT}{Up,Down}) for every path, at each round trip of the config. */
export async function runWan(config: BenchConfig, tmp: string): Promise<{ metrics: Record<string, Metric>; failures: VersusReport["failures"] }> {
  const metrics: Record<string, Metric> = {};
  const failures: VersusReport["failures"] = [];
  const link = await makeLink(config.wanRttMs[0]! / 2);
  const site: Placement = { netns: link.site, listenHost: SITE_ADDR, port: portsFrom(20_000) };
  const iperfPort = await startIperfServer(site, "0.0.0.0");
  const targets = { iperf: iperfPort };
  process.stderr.write("wan: starting the four paths across the delayed link ...\n");
  const ends: Partial<Record<PathName, PathEnds<"iperf">>> = {
    direct: { host: SITE_ADDR, ports: targets, pids: [] },
    ssh: await startSshR(join(tmp, "wan-ssh"), targets, site),
    socat: await startSocat(targets, site),
  };
  const seconds = config.versusSeconds;
  for (const rtt of config.wanRttMs) {
    await setDelay(link, rtt / 2);
    await sleep(200);
    // Fernlink sizes its windows and chooses lanes by the round trip its sessions measure when
    // they start: a stack started across this round trip, as a user's on such a link would be.
    if (ends.fernlink) await stopPids(ends.fernlink.pids);
    const placement = { serverNetns: link.site, serverHost: SITE_ADDR, clientNetns: link.tech };
    ends.fernlink = (await startFernlink(config.cli, join(tmp, `wan-fernlink-${rtt}`), targets, placement)).ends;
    for (const [dir, reverse] of [
      ["Up", false],
      ["Down", true],
    ] as const) {
      const key = `wan${rtt}${dir}`;
      const m: Metric = {
        label: `bulk ${reverse ? "download" : "upload"}, 1 stream, ${rtt} ms round trip`,
        unit: "Gbit/s",
        better: "higher",
        values: {},
      };
      metrics[key] = m;
      for (let i = 0; i < config.repeat; i++) {
        for (const path of PATHS) {
          const e = ends[path]!;
          try {
            // -O 1: the first second (slow start over the long round trip) is left out.
            const r = await iperf({ host: e.host, port: e.ports.iperf, seconds, reverse, omit: 1, netns: link.tech });
            m.values[path] ??= [];
            m.values[path].push(r.gbps);
            process.stderr.write(`  ${m.label} ${path}: ${r.gbps.toFixed(3)} Gbit/s\n`);
          } catch (err) {
            const message = `${m.label}: ${err instanceof Error ? err.message : String(err)}`;
            failures.push({ path, message });
            process.stderr.write(`  ${path}: run failed, left out: ${message}\n`);
          }
          await sleep(300);
        }
      }
    }
  }
  return { metrics, failures };
}
