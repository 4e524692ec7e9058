/**
 * The floor of a three-process Node.js path on this machine, beside `ssh -R` and Fernlink in
 * one run: what any design with Fernlink's shape (technician's client → relay → agent, each a
 * Node.js process) can reach, whatever its protocol. The minimal paths are three node-hop.ts
 * processes with Fernlink's own forwarding and buffers and nothing else: one connection per
 * stream on each hop, plain TCP, TLS on the two inner hops as Fernlink's lanes are, or one
 * TLS connection from the first hop to the last that the middle one forwards undecrypted.
 *
 *   node dist-test/bench/node-floor.js    (as root, for the private sshd; FLOOR_SECONDS=4 per run,
 *                                          FLOOR_REPEAT=3; BENCH_CLI as for run.ts)
 *
 * Prints one markdown table: medians (lowest–highest) per path, bulk as iperf3 counts it after
 * its first second, CPU seconds per GB summed over the path's processes, the 12-byte
 * request/response warm (after 1 s) and its p99 beside one bulk download.
 */

import type { webcrypto } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { generateKeyPairPem, importEcKeyPair } from "../src/shared/pki.js";
import { x509 } from "../src/shared/x509.js";
import { loadConfig, num } from "./config.js";
import { iperf } from "./iperf.js";
import { freePort, LOOPBACK, type PathEnds, startFernlink, startIperfServer, startSshR } from "./paths.js";
import { Helper, startCommand, stopAll } from "./procs.js";
import { treeCpuSeconds } from "./procstat.js";
import type { Job, JobResult } from "./shared.js";
import { median } from "./versus-report.js";

type Target = "iperf" | "echo";
/** A setting from the environment (config.ts's `num`), rounded; bad input stops the run in one line. */
function setting(name: string, fallback: number, min: number): number {
  try {
    return Math.round(num(name, fallback, min));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
}
const SECONDS = setting("FLOOR_SECONDS", 4, 2);
const REPEAT = setting("FLOOR_REPEAT", 3, 1);
type Mode = "tcp" | "tls";
/** Each hop's [accepts, dials], from the technician's end to the target's. */
const HOPS: Record<string, [Mode, Mode][]> = {
  "3 Node.js hops, plain TCP": [
    ["tcp", "tcp"],
    ["tcp", "tcp"],
    ["tcp", "tcp"],
  ],
  "3 Node.js hops, TLS on each": [
    ["tcp", "tls"],
    ["tls", "tls"],
    ["tls", "tcp"],
  ],
  // One TLS connection from the first hop to the last: the middle one forwards ciphertext.
  "3 Node.js hops, TLS end to end": [
    ["tcp", "tls"],
    ["tcp", "tcp"],
    ["tls", "tcp"],
  ],
};

/** A throwaway self-signed certificate for the TLS hops, handed over by environment. */
async function throwawayTls(): Promise<NodeJS.ProcessEnv> {
  const { privateKeyPem } = await generateKeyPairPem();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: ["fernlink-floor"] }],
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys: await importEcKeyPair(privateKeyPem),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams,
  });
  return { ...process.env, FLOOR_TLS_KEY: privateKeyPem, FLOOR_TLS_CERT: cert.toString("pem") };
}

/** Three node-hop.ts processes in a row in front of `targets`; the path's ports are the first hop's. */
async function nodeHops(modes: [Mode, Mode][], targets: Record<Target, number>, env: NodeJS.ProcessEnv): Promise<PathEnds<Target>> {
  const keys = Object.keys(targets) as Target[];
  const ports: number[][] = [];
  for (let i = 0; i < modes.length; i++) ports.push(await Promise.all(keys.map(() => freePort())));
  ports.push(keys.map((k) => targets[k]));
  const pids: number[] = [];
  // The last hop first, so that each hop's next one already listens.
  for (let i = modes.length - 1; i >= 0; i--) {
    const argv = [new URL("./node-hop.js", import.meta.url).pathname, ports[i]!.join(","), ports[i + 1]!.join(","), ...modes[i]!];
    pids.push((await startCommand(process.execPath, argv, /^ready$/m, { env })).pid);
  }
  const first = ports[0]!;
  return { host: "127.0.0.1", ports: { iperf: first[keys.indexOf("iperf")]!, echo: first[keys.indexOf("echo")]! }, pids };
}

const cell = (xs: number[], digits: number): string =>
  xs.length === 0 ? "–" : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

const ROWS = [
  "bulk upload, Gbit/s",
  "CPU s/GB, upload",
  "bulk download, Gbit/s",
  "CPU s/GB, download",
  "request/response p50, µs",
  "p99, µs",
  "p99.9, µs",
  "p99 beside a bulk download, µs",
  "that bulk download, Gbit/s",
] as const;
type Row = (typeof ROWS)[number];
type RttJob = (j: Job) => Promise<JobResult & { kind: "rtt" }>;

/** One round of every scenario through one path, measured as versus.ts measures them. */
async function measure(e: PathEnds<Target>, job: RttJob, put: (row: Row, v: number) => void): Promise<void> {
  for (const reverse of [false, true]) {
    const running = iperf({ host: e.host, port: e.ports.iperf, seconds: SECONDS, reverse, omit: 1 });
    await sleep(1000); // iperf3's omitted first second counts for neither rate nor CPU
    const before = treeCpuSeconds(e.pids);
    const r = await running;
    const cpu = treeCpuSeconds(e.pids) - before;
    put(reverse ? "bulk download, Gbit/s" : "bulk upload, Gbit/s", r.gbps);
    put(reverse ? "CPU s/GB, download" : "CPU s/GB, upload", cpu / (r.bytes / 1e9));
    await sleep(300);
  }
  const rr = await job({ kind: "rtt", port: e.ports.echo, n: 1_000_000, warmup: 200, conns: 1, maxSeconds: SECONDS, warmupSeconds: 1 });
  put("request/response p50, µs", rr.us.p50);
  put("p99, µs", rr.us.p99);
  put("p99.9, µs", rr.us.p999);
  const download = iperf({ host: e.host, port: e.ports.iperf, seconds: SECONDS + 1, reverse: true });
  await sleep(700); // past iperf3's set-up, into its data phase
  const beside = await job({ kind: "rtt", port: e.ports.echo, n: 1_000_000, warmup: 50, conns: 1, maxSeconds: SECONDS - 0.5 });
  put("p99 beside a bulk download, µs", beside.us.p99);
  // A path that carries less bulk loads the cores less: the rate belongs beside the p99.
  put("that bulk download, Gbit/s", (await download).gbps);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const tmp = await mkdtemp(join(tmpdir(), "fernlink-node-floor-"));
  const onSignal = (): void => void stopAll(500).finally(() => rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130)));
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    const targetsHelper = new Helper(new URL("./targets.js", import.meta.url));
    const answer = await targetsHelper.request(undefined, 10_000);
    if (!("ports" in answer)) throw new Error("targets sent no ports");
    const targets: Record<Target, number> = { iperf: await startIperfServer(LOOPBACK), echo: answer.ports.echo };
    const loadgen = new Helper(new URL("./loadgen.js", import.meta.url));
    const job: RttJob = async (j) => {
      const a = await loadgen.request(j, 120_000);
      if (!("result" in a) || a.result.kind !== "rtt") throw new Error("load generator sent no rtt result");
      return a.result;
    };
    const env = await throwawayTls();
    const paths: Record<string, PathEnds<Target>> = {
      "ssh -R": await startSshR(join(tmp, "ssh"), targets, LOOPBACK),
      Fernlink: (await startFernlink(config.cli, join(tmp, "fernlink"), targets)).ends,
    };
    for (const [name, modes] of Object.entries(HOPS)) paths[name] = await nodeHops(modes, targets, env);

    const values: Record<string, Record<string, number[]>> = {};
    const put = (path: string, row: string, v: number): void => {
      const byRow = values[path] ?? {};
      values[path] = byRow;
      byRow[row] = [...(byRow[row] ?? []), v];
    };
    for (let rep = 0; rep < REPEAT; rep++) {
      for (const [name, e] of Object.entries(paths)) {
        try {
          await measure(e, job, (row, v) => put(name, row, v));
        } catch (err) {
          // As versus.ts does: a failed run is said and left out, the others go on.
          process.stderr.write(`  ${name}: run failed, left out: ${err instanceof Error ? err.message : String(err)}\n`);
        }
        await sleep(300);
      }
    }
    const names = Object.keys(paths);
    const lines = [`| | ${names.join(" | ")} |`, `|---|${names.map(() => "---:").join("|")}|`];
    for (const row of ROWS) lines.push(`| ${row} | ${names.map((n) => cell(values[n]?.[row] ?? [], row.includes("µs") ? 0 : 2)).join(" | ")} |`);
    process.stdout.write(`${REPEAT} × ${SECONDS} s per path and scenario, paths alternating; median (lowest–highest)\n\n${lines.join("\n")}\n`);
  } finally {
    await stopAll();
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
