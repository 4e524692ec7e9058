/**
 * Fernlink against OpenSSH's `ssh -R`, socat and direct TCP, in one run on one machine
 * (issue 10): the same workloads through each path (paths.ts), alternating path by path
 * and repeated, so a drift in machine load hits all alike. Bulk load is Debian's iperf3;
 * round trips and new streams come from the bench's load generator (loadgen.ts) against
 * the Modbus-sized echo target (targets.ts). Results: versus-report.ts.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchConfig } from "./config.js";
import { addDevice } from "./fernlink.js";
import { iperf } from "./iperf.js";
import { idleTunnelBytes, type KeepAliveResult, tunnelCounters } from "./keepalive.js";
import { LOOPBACK, PATHS, type PathEnds, type PathName, startFernlink, startIperfServer, startSocat, startSshR } from "./paths.js";
import { Helper } from "./procs.js";
import { treeCpuSeconds } from "./procstat.js";
import type { Job, JobResult } from "./shared.js";
import { median } from "./versus-report.js";

/** One measured quantity: its values per path, one per repetition. */
export interface Metric {
  label: string;
  unit: string;
  /** Which way is better, for the ratios. */
  better: "higher" | "lower";
  values: Partial<Record<PathName, number[]>>;
}

export interface VersusReport {
  seconds: number;
  repeat: number;
  metrics: Record<string, Metric>;
  /** Round-trip latency percentiles (QUANTILES in shared.ts) per path, median over repetitions, µs. */
  rttQuantilesUs: Partial<Record<PathName, number[]>>;
  /** The same, for the ping-pong beside a bulk stream. */
  holQuantilesUs: Partial<Record<PathName, number[]>>;
  keepAlive?: KeepAliveResult;
  /** Runs that failed (after iperf3's one retry) and were left out of the medians. */
  failures: { path: PathName; message: string }[];
}

export type Targets = "iperf" | "echo";
export type Ends = Partial<Record<PathName, PathEnds<Targets>>>;

const JOB_TIMEOUT_MS = 120_000;

/** Starts the targets and the four paths to them on loopback. */
export async function startLoopbackPaths(config: BenchConfig, tmp: string): Promise<{ ends: Ends; loadgen: Helper; agentIdlePid: number | undefined }> {
  const targetsHelper = new Helper(new URL("./targets.js", import.meta.url));
  const answer = await targetsHelper.request(undefined, 10_000);
  if (!("ports" in answer)) throw new Error("targets sent no ports");
  const targets: Record<Targets, number> = { iperf: await startIperfServer(LOOPBACK), echo: answer.ports.echo };
  const loadgen = new Helper(new URL("./loadgen.js", import.meta.url));
  process.stderr.write("starting fernlink, sshd + ssh -R, socat ...\n");
  const { stack, ends: fernlink } = await startFernlink(config.cli, join(tmp, "versus-fernlink"), targets, {}, config.cpuProfDir);
  // A second device that never carries a stream: its tunnel's bytes are the keep-alive cost.
  const idle = config.only.has("keepalive")
    ? await addDevice({ cli: config.cli, url: stack.url, ca: stack.ca, env: stack.env }, "idle", join(tmp, "versus-idle-agent"))
    : undefined;
  const ssh = await startSshR(join(tmp, "versus-ssh"), targets, LOOPBACK);
  const socat = await startSocat(targets, LOOPBACK);
  const direct: PathEnds<Targets> = { host: "127.0.0.1", ports: targets, pids: [] };
  return { ends: { direct, fernlink, ssh, socat }, loadgen, agentIdlePid: idle?.pid };
}

/** Element-wise median of equally long arrays. */
export const medianOf = (runs: number[][]): number[] => (runs[0] ?? []).map((_, i) => median(runs.map((r) => r[i]!)));

export class Versus {
  readonly metrics: Record<string, Metric> = {};
  readonly failures: { path: PathName; message: string }[] = [];
  constructor(
    readonly config: BenchConfig,
    readonly ends: Ends,
    readonly loadgen: Helper,
  ) {}

  metric(key: string, label: string, unit: string, better: Metric["better"]): Metric {
    this.metrics[key] ??= { label, unit, better, values: {} };
    return this.metrics[key];
  }

  record(key: string, path: PathName, value: number): void {
    const m = this.metrics[key]!;
    m.values[path] ??= [];
    m.values[path].push(value);
    process.stderr.write(`  ${m.label} ${path}: ${value.toFixed(m.unit === "Gbit/s" || m.unit.startsWith("CPU") ? 3 : 0)} ${m.unit}\n`);
  }

  async job(job: Job): Promise<JobResult> {
    const answer = await this.loadgen.request(job, JOB_TIMEOUT_MS);
    if (!("result" in answer)) throw new Error("load generator sent no result");
    return answer.result;
  }

  /** Each path in turn, `repeat` times; a run that fails is reported and left out, the others go on. */
  async each(f: (path: PathName, ends: PathEnds<Targets>) => Promise<void>): Promise<void> {
    for (let i = 0; i < this.config.repeat; i++) {
      for (const path of PATHS) {
        const ends = this.ends[path];
        if (!ends) continue;
        try {
          await f(path, ends);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.failures.push({ path, message });
          process.stderr.write(`  ${path}: run failed, left out: ${message}\n`);
        }
        await sleep(300); // the last run's connections close before the next run starts
      }
    }
  }
}

/** Seconds at the start of each bulk run that count for neither rate nor CPU. */
const BULK_OMIT_SECONDS = 1;

/** One iperf3 stream each way; the path's CPU seconds per GB carried, from the same runs. */
async function bulk(v: Versus): Promise<void> {
  const t = v.config.versusSeconds;
  for (const [dir, reverse] of [
    ["Up", false],
    ["Down", true],
  ] as const) {
    const name = reverse ? "download (target → technician)" : "upload (technician → target)";
    v.metric(`bulk${dir}`, `bulk ${name}, 1 stream`, "Gbit/s", "higher");
    v.metric(`cpuPerGb${dir}`, `CPU per GB carried, ${name}`, "CPU s/GB", "lower");
    await v.each(async (path, e) => {
      // The first second is left out of both figures (iperf3's -O): three processes that just
      // started compile their hot paths there, which a technician's long transfer pays once.
      const running = iperf({ host: e.host, port: e.ports.iperf, seconds: t, reverse, omit: BULK_OMIT_SECONDS });
      await sleep(BULK_OMIT_SECONDS * 1000);
      const before = treeCpuSeconds(e.pids);
      const r = await running;
      const cpu = treeCpuSeconds(e.pids) - before;
      v.record(`bulk${dir}`, path, r.gbps);
      // Everything the path's processes used during the run, over what iperf3 counted as received.
      if (path !== "direct") v.record(`cpuPerGb${dir}`, path, cpu / (r.bytes / 1e9));
    });
  }
}

async function parallel(v: Versus): Promise<void> {
  for (const n of [8, 64]) {
    v.metric(`parallel${n}`, `bulk upload, ${n} parallel streams`, "Gbit/s", "higher");
    await v.each(async (path, e) =>
      v.record(`parallel${n}`, path, (await iperf({ host: e.host, port: e.ports.iperf, seconds: v.config.versusSeconds, streams: n })).gbps),
    );
  }
}

/**
 * The warm-up of each request/response connection, unmeasured as iperf3's --omit is: a poller
 * keeps its connection for hours. Through Fernlink's three fresh Node.js processes the first
 * second of a new connection is slower (the JIT still compiling the path, more CPU per message
 * on two shared cores), so that second is reported on its own row rather than hidden.
 */
const RR_WARMUP_SECONDS = 1;

/** 12-byte request, 25-byte reply, one at a time on one connection. */
async function requestResponse(v: Versus, report: VersusReport): Promise<void> {
  for (const label of ["p50", "p99", "p99.9"]) v.metric(`rr${label}`, `12 B request/response, ${label}`, "µs", "lower");
  v.metric("rrColdP99", `12 B request/response p99 in the first ${RR_WARMUP_SECONDS} s of a connection`, "µs", "lower");
  const quantiles: Partial<Record<PathName, number[][]>> = {};
  await v.each(async (path, e) => {
    const r = await v.job({
      kind: "rtt",
      port: e.ports.echo,
      n: 1_000_000,
      warmup: 200,
      warmupSeconds: RR_WARMUP_SECONDS,
      conns: 1,
      maxSeconds: v.config.versusSeconds,
      quantiles: true,
    });
    if (r.kind !== "rtt") throw new Error(`rtt job answered with ${r.kind}`);
    v.record("rrp50", path, r.us.p50);
    v.record("rrp99", path, r.us.p99);
    v.record("rrp99.9", path, r.us.p999);
    if (r.coldUs) v.record("rrColdP99", path, r.coldUs.p99);
    quantiles[path] ??= [];
    quantiles[path].push(r.quantilesUs ?? []);
  });
  for (const p of PATHS) if (quantiles[p]) report.rttQuantilesUs[p] = medianOf(quantiles[p]);
}

/** The same ping-pong while one iperf3 stream downloads on the same path (same client, same tunnel). */
async function headOfLine(v: Versus, report: VersusReport): Promise<void> {
  v.metric("holP99", "12 B ping-pong p99 beside one bulk download", "µs", "lower");
  v.metric("holBulk", "the bulk download meanwhile", "Gbit/s", "higher");
  const t = v.config.versusSeconds;
  const quantiles: Partial<Record<PathName, number[][]>> = {};
  await v.each(async (path, e) => {
    const bulkRun = iperf({ host: e.host, port: e.ports.iperf, seconds: t + 1, reverse: true });
    await sleep(700); // past iperf3's set-up, into its data phase
    const r = await v.job({ kind: "rtt", port: e.ports.echo, n: 1_000_000, warmup: 50, conns: 1, maxSeconds: t - 0.5, quantiles: true });
    const b = await bulkRun;
    if (r.kind !== "rtt") throw new Error(`rtt job answered with ${r.kind}`);
    v.record("holP99", path, r.us.p99);
    v.record("holBulk", path, b.gbps);
    quantiles[path] ??= [];
    quantiles[path].push(r.quantilesUs ?? []);
  });
  for (const p of PATHS) if (quantiles[p]) report.holQuantilesUs[p] = medianOf(quantiles[p]);
}

/** New streams per second: connect → 12 B round trip → close, in 1 and 8 concurrent loops. */
async function streamSetup(v: Versus): Promise<void> {
  for (const loops of [1, 8]) {
    v.metric(`setup${loops}`, `new streams per second, ${loops} loop${loops > 1 ? "s" : ""}`, "streams/s", "higher");
    await v.each(async (path, e) => {
      const r = await v.job({ kind: "streams", port: e.ports.echo, loops, seconds: v.config.versusSeconds });
      if (r.kind !== "streams") throw new Error(`streams job answered with ${r.kind}`);
      v.record(`setup${loops}`, path, r.perSecond);
    });
  }
}

/** Runs the loopback scenarios the config selects; keep-alive spans them all. */
export async function runVersus(config: BenchConfig, tmp: string): Promise<VersusReport> {
  const { ends, loadgen, agentIdlePid } = await startLoopbackPaths(config, tmp);
  const v = new Versus(config, ends, loadgen);
  const report: VersusReport = {
    seconds: config.versusSeconds,
    repeat: config.repeat,
    metrics: v.metrics,
    rttQuantilesUs: {},
    holQuantilesUs: {},
    failures: v.failures,
  };
  await sleep(2000); // the idle agent's handshake and first exchanges are not keep-alive
  const idleStart = agentIdlePid ? { at: performance.now(), counters: await tunnelCounters(agentIdlePid) } : undefined;
  const o = config.only;
  if (o.has("vs-bulk")) await bulk(v);
  if (o.has("vs-rr")) await requestResponse(v, report);
  if (o.has("vs-setup")) await streamSetup(v);
  if (o.has("vs-parallel")) await parallel(v);
  if (o.has("vs-hol")) await headOfLine(v, report);
  if (idleStart && agentIdlePid) {
    // Without other scenarios, wait for at least two keep-alive periods.
    const minimum = config.keepAliveSeconds * 1000 - (performance.now() - idleStart.at);
    if (minimum > 0) await sleep(minimum);
    report.keepAlive = await idleTunnelBytes(agentIdlePid, idleStart);
  }
  return report;
}
