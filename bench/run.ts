/**
 * Fernlink benchmark: the same workloads through the tunnel (client forward port) and
 * direct (target port), side by side, in one run. `npm run bench`; sizes in config.ts.
 *
 * Process layout (why): this orchestrator only starts things, hands out jobs and reads
 * /proc. Load generator and targets are two separate child processes, so neither shares
 * an event loop with the other or with the Fernlink processes (client, server, agent)
 * under test. Direct = loadgen -> targets; tunnel = loadgen -> client -> server/relay ->
 * agent -> targets. All of them share the machine's cores, so CPU % per process is
 * recorded with every tunnel run to show where the time goes.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type BenchConfig, loadConfig, VERSUS_SCENARIOS } from "./config.js";
import { type Stack, startStack } from "./fernlink.js";
import { type HmiModesReport, renderHmiModes, runHmiModes } from "./hmi-modes.js";
import { Helper, stopAll } from "./procs.js";
import { cpuPercent, cpuSample, machinePercent, machineSample, rssMiB, watchRss } from "./procstat.js";
import { type Measured, machineInfo, type Path, type ProcName, type Report, type Row, type Rss, renderReport } from "./report.js";
import { renderScale, runScale, type ScaleReport } from "./scale.js";
import type { Job, JobResult, TargetPorts } from "./shared.js";
import { runComparison } from "./versus-docs.js";
import { median, renderVersusText, type VersusResults } from "./versus-report.js";
import { cleanupWan } from "./wan.js";

/** A stalled tunnel (e.g. a flow-control deadlock) fails the run instead of hanging it. */
const JOB_TIMEOUT_MS = 180_000;

/** Results besides the tunnel comparison, each under its own key of the result file. */
type ExtraResults = { hmiModes?: HmiModesReport; versus?: VersusResults } & ScaleReport;

interface Ctx {
  config: BenchConfig;
  loadgen: Helper;
  ports: Record<Path, TargetPorts>;
  pids: Record<ProcName, number>;
  runs: Measured[];
}

/** What one run consumed: MiB for bulk, round trips for rtt, connections for connect (warm-up included). */
function units(job: Job): number {
  switch (job.kind) {
    case "upload":
    case "download":
      return (job.bytesPerConn * job.conns) / 2 ** 20;
    case "rtt":
      return (job.n + job.warmup) * job.conns;
    case "connect":
      return job.n + job.warmup;
    case "streams":
      return 0;
  }
}

/** Runs one job on one path and records CPU % of every process meanwhile. */
async function measure(ctx: Ctx, scenario: string, path: Path, job: Job): Promise<JobResult> {
  const procs = Object.keys(ctx.pids) as ProcName[];
  const before = procs.map((p) => cpuSample(ctx.pids[p]));
  const machineBefore = machineSample();
  const t0 = performance.now();
  const answer = await ctx.loadgen.request(job, JOB_TIMEOUT_MS);
  if (!("result" in answer)) throw new Error("load generator sent no result");
  const wallSeconds = (performance.now() - t0) / 1000;
  const machine = machinePercent(machineBefore, machineSample(), cpus().length);
  const cpu: Measured["cpu"] = {};
  for (const [i, p] of procs.entries()) cpu[p] = cpuPercent(before[i]!, cpuSample(ctx.pids[p]));
  // Whatever else ran on the machine meanwhile (other users, builds): a noisy run shows here.
  const otherCpu = machine - procs.reduce((a, p) => a + (cpu[p]?.process ?? 0), 0);
  ctx.runs.push({ scenario, path, result: answer.result, wallSeconds, units: units(job), cpu, otherCpu });
  process.stderr.write(`  ${scenario} ${path}: ${JSON.stringify(answer.result)}\n`);
  return answer.result;
}

/** Direct then tunnel, `repeat` times alternating, so slow drifts in machine load hit both alike. */
async function both(ctx: Ctx, scenario: string, job: (p: TargetPorts) => Job): Promise<Record<Path, JobResult[]>> {
  const r: Record<Path, JobResult[]> = { direct: [], tunnel: [] };
  for (let i = 0; i < ctx.config.repeat; i++) {
    for (const path of ["direct", "tunnel"] as const) r[path].push(await measure(ctx, scenario, path, job(ctx.ports[path])));
  }
  return r;
}

function row(metric: string, unit: string, r: Record<Path, JobResult[]>, pick: (x: JobResult) => number): Row {
  const tunnel = median(r.tunnel.map(pick));
  const direct = median(r.direct.map(pick));
  return { metric, unit, tunnel, direct, ratio: tunnel / direct };
}

const gbps = (x: JobResult): number => (x.kind === "bulk" ? x.gbps : NaN);
const us =
  (k: "p50" | "p99") =>
  (x: JobResult): number =>
    x.kind === "rtt" || x.kind === "connect" ? x.us[k] : NaN;
const rate = (x: JobResult): number => (x.kind === "rtt" ? x.perSecond : NaN);

function rssOf(stack: Stack): Rss {
  return { server: rssMiB(stack.pids.server), agent: rssMiB(stack.pids.agent), client: rssMiB(stack.pids.client) };
}

async function scenarios(ctx: Ctx, stack: Stack, memory: Report["memoryMiB"]): Promise<Row[]> {
  const c = ctx.config;
  const rows: Row[] = [];
  const mib = (b: number): string => `${Math.round(b / 2 ** 20)} MiB`;
  if (c.only.has("bulk")) {
    const up = await both(ctx, "upload x1", (p) => ({ kind: "upload", port: p.bulk, bytesPerConn: c.bulkBytes, conns: 1 }));
    rows.push(row(`bulk upload, 1 conn, ${mib(c.bulkBytes)}`, "Gbit/s", up, gbps));
    const down = await both(ctx, "download x1", (p) => ({ kind: "download", port: p.bulk, bytesPerConn: c.bulkBytes, conns: 1 }));
    rows.push(row(`bulk download, 1 conn, ${mib(c.bulkBytes)}`, "Gbit/s", down, gbps));
  }
  if (c.only.has("parallel")) {
    const n = c.parallel;
    const stop = watchRss(stack.pids);
    const up = await both(ctx, `upload x${n}`, (p) => ({ kind: "upload", port: p.bulk, bytesPerConn: c.parallelBytes, conns: n }));
    const down = await both(ctx, `download x${n}`, (p) => ({ kind: "download", port: p.bulk, bytesPerConn: c.parallelBytes, conns: n }));
    memory.peakUnderParallelBulk = stop();
    rows.push(row(`bulk upload, ${n} conns x ${mib(c.parallelBytes)}`, "Gbit/s", up, gbps));
    rows.push(row(`bulk download, ${n} conns x ${mib(c.parallelBytes)}`, "Gbit/s", down, gbps));
  }
  if (c.only.has("rtt")) {
    const one = await both(ctx, "rtt x1", (p) => ({ kind: "rtt", port: p.echo, n: c.rttN, warmup: c.rttWarmup, conns: 1 }));
    rows.push(row(`12->25 B round trip, 1 conn: p50`, "us", one, us("p50")));
    rows.push(row(`12->25 B round trip, 1 conn: p99`, "us", one, us("p99")));
    rows.push(row(`12->25 B round trip, 1 conn: rate`, "msg/s", one, rate));
    const k = c.rttConns;
    const many = await both(ctx, `rtt x${k}`, (p) => ({ kind: "rtt", port: p.echo, n: c.rttConnsN, warmup: c.rttWarmup, conns: k }));
    rows.push(row(`12->25 B round trip, ${k} conns: p50`, "us", many, us("p50")));
    rows.push(row(`12->25 B round trip, ${k} conns: p99`, "us", many, us("p99")));
    rows.push(row(`12->25 B round trip, ${k} conns: rate`, "msg/s", many, rate));
  }
  if (c.only.has("connect")) {
    const r = await both(ctx, "connect", (p) => ({ kind: "connect", port: p.banner, n: c.connects, warmup: c.connectWarmup }));
    rows.push(row(`new connection to first byte: p50`, "us", r, us("p50")));
    rows.push(row(`new connection to first byte: p99`, "us", r, us("p99")));
  }
  return rows;
}

/** The tunnel-vs-direct comparison: targets, load generator and a Fernlink stack of one device. */
async function tunnelBench(config: BenchConfig, tmp: string): Promise<Pick<Report, "rows" | "memoryMiB" | "runs">> {
  const targets = new Helper(new URL("./targets.js", import.meta.url));
  const answer = await targets.request(undefined, 10_000);
  if (!("ports" in answer)) throw new Error("targets sent no ports");
  const loadgen = new Helper(new URL("./loadgen.js", import.meta.url));
  process.stderr.write(`starting fernlink (${config.cli}) ...\n`);
  const stack = await startStack(config.cli, tmp, answer.ports, config.cpuProfDir);
  const pids = { ...stack.pids, loadgen: loadgen.pid, targets: targets.pid };
  const ctx: Ctx = { config, loadgen, ports: { direct: answer.ports, tunnel: stack.forwards }, pids, runs: [] };
  await sleep(1000); // let start-up garbage settle before the idle reading
  const memory: Report["memoryMiB"] = { idle: rssOf(stack), peakUnderParallelBulk: {}, afterLoad: {} };
  const rows = await scenarios(ctx, stack, memory);
  await sleep(1000);
  memory.afterLoad = rssOf(stack);
  return { rows, memoryMiB: memory, runs: ctx.runs };
}

const TUNNEL_SCENARIOS = ["bulk", "parallel", "rtt", "connect"] as const;

async function main(): Promise<void> {
  const started = performance.now();
  const config = loadConfig();
  const machine = machineInfo();
  const tmp = await mkdtemp(join(tmpdir(), "fernlink-bench-"));
  const onSignal = (): void =>
    void stopAll(500).finally(() => {
      cleanupWan();
      return rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130));
    });
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    const tunnel = TUNNEL_SCENARIOS.some((s) => config.only.has(s)) ? await tunnelBench(config, tmp) : undefined;
    // The portal's HMI modes in headless Chromium: its own server, agent and browser (hmi-modes.ts).
    const hmiModes = config.only.has("hmi") ? await runHmiModes(config.quick ? 3 : 5) : undefined;
    // Thousands of devices on one relay: idle memory and a reconnect storm (scale.ts).
    const scale = config.only.has("idle") || config.only.has("storm") ? await runScale(config, tmp) : {};
    // Fernlink against ssh -R, socat and direct TCP (versus.ts, wan.ts), on a machine the earlier parts have left.
    const comparing = VERSUS_SCENARIOS.some((s) => config.only.has(s));
    if (comparing) await stopAll();
    const versus = comparing ? await runComparison(config, tmp) : undefined;
    const extra: ExtraResults = { ...(hmiModes ? { hmiModes } : {}), ...scale, ...(versus ? { versus } : {}) };
    const meta = { machine, config: { ...config, only: [...config.only] }, seconds: (performance.now() - started) / 1000 };
    // A run replaces only what it measured: without the tunnel scenarios the tunnel numbers
    // of the last full run stay under that run's machine header, and the extras a run did not
    // measure (the fleet-scale results, the comparison) stay with their own headers.
    // A missing or empty result file (CI passes a fresh `mktemp`) has nothing to keep.
    const previous = JSON.parse((await readFile(config.out, "utf8").catch(() => "")) || "{}") as object;
    const scaleRun = scale.idleMemory || scale.reconnectStorm ? { scaleRun: meta } : {};
    const written = tunnel ? { ...previous, ...meta, ...tunnel, ...extra, ...scaleRun } : { ...previous, ...extra, ...scaleRun };
    await writeFile(config.out, `${JSON.stringify(written, null, 2)}\n`);
    const text = [
      tunnel ? renderReport({ ...meta, ...tunnel }) : undefined,
      hmiModes ? renderHmiModes(hmiModes) : undefined,
      scale.idleMemory || scale.reconnectStorm ? renderScale(scale) : undefined,
      versus ? renderVersusText(versus) : undefined,
    ].filter((x) => x !== undefined);
    process.stdout.write(`${text.join("\n\n")}\nwritten to ${config.out}\n`);
  } finally {
    await stopAll();
    cleanupWan();
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
