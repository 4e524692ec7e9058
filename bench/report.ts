/** The bench's result document and its text rendering. */
import os from "node:os";
import type { BenchConfig } from "./config.js";
import type { JobResult } from "./shared.js";

export type Path = "tunnel" | "direct";
export type ProcName = "client" | "server" | "agent" | "loadgen" | "targets";

/** One measured scenario on one path: the raw result and CPU % per process (process / main thread). */
export interface Measured {
  scenario: string;
  path: Path;
  result: JobResult;
  wallSeconds: number;
  /** MiB moved (bulk), round trips (rtt) or connections (connect), warm-up included. */
  units: number;
  cpu: Partial<Record<ProcName, { process: number; main: number }>>;
  /** CPU % (of one core) used by processes outside the bench meanwhile. */
  otherCpu: number;
}

/** One line of the comparison table. */
export interface Row {
  metric: string;
  unit: string;
  tunnel: number;
  direct: number;
  /** tunnel / direct: < 1 is a throughput loss, > 1 a latency penalty. */
  ratio: number;
}

export type Rss = Record<"server" | "agent" | "client", number>;

export interface Report {
  machine: { node: string; cpus: number; cpuModel: string; platform: string; kernel: string; memGiB: number; loadavgAtStart: number[]; date: string };
  config: Omit<BenchConfig, "only"> & { only: string[] };
  rows: Row[];
  memoryMiB: { idle: Partial<Rss>; peakUnderParallelBulk: Partial<Rss>; afterLoad: Partial<Rss> };
  runs: Measured[];
  seconds: number;
}

export function machineInfo(): Report["machine"] {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "?",
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return "-";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** A text table: the first column left-aligned, the others right-aligned. */
export function table(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** CPU seconds of `p` summed over runs, so repeats are weighted by their length. */
function cpuSeconds(xs: Measured[], p: ProcName, k: "main" | "process"): number {
  return xs.reduce((a, x) => a + ((x.cpu[p]?.[k] ?? 0) * x.wallSeconds) / 100, 0);
}

/** Whole-process CPU of `ps` per unit of work: ms/MiB (bulk), us/msg (rtt), ms/conn (connect). */
export function cpuPerUnit(xs: Measured[], ps: ProcName[]): number {
  const scale = xs[0]?.result.kind === "rtt" ? 1e6 : 1e3;
  const cpu = ps.reduce((a, p) => a + cpuSeconds(xs, p, "process"), 0);
  return (scale * cpu) / xs.reduce((a, x) => a + x.units, 0);
}

export function renderReport(r: Report): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`Fernlink bench — node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.platform}, load avg at start ${m.loadavgAtStart.join(" ")}, ${m.date}`);
  out.push("");
  out.push(
    table(
      ["metric", "unit", "tunnel", "direct", "tunnel/direct"],
      r.rows.map((x) => [x.metric, x.unit, fmt(x.tunnel), fmt(x.direct), x.ratio.toFixed(3)]),
    ),
  );
  out.push("");
  const procs: ProcName[] = ["client", "server", "agent", "loadgen", "targets"];
  const scenarios = [...new Set(r.runs.map((x) => x.scenario))];
  const runsOf = (scenario: string, path: Path): Measured[] => r.runs.filter((x) => x.scenario === scenario && x.path === path);
  const wall = (xs: Measured[]): number => xs.reduce((a, x) => a + x.wallSeconds, 0);
  const pct = (xs: Measured[], p: ProcName, k: "main" | "process"): string => ((100 * cpuSeconds(xs, p, k)) / wall(xs)).toFixed(0);

  out.push("CPU during tunnel runs, % of one core: main thread (whole process); other = rest of the machine");
  out.push(
    table(
      ["scenario", ...procs, "other"],
      scenarios.map((sc) => {
        const xs = runsOf(sc, "tunnel");
        const other = xs.reduce((a, x) => a + x.otherCpu * x.wallSeconds, 0) / wall(xs);
        return [sc, ...procs.map((p) => `${pct(xs, p, "main")} (${pct(xs, p, "process")})`), other.toFixed(0)];
      }),
    ),
  );
  out.push("");
  // CPU time per unit of work is far less sensitive to other load on the machine than rates are.
  const unitName = (x: Measured | undefined): string => (x?.result.kind === "bulk" ? "ms/MiB" : x?.result.kind === "rtt" ? "us/msg" : "ms/conn");
  const perUnit = (xs: Measured[], ps: ProcName[]): string => cpuPerUnit(xs, ps).toFixed(2);
  const ends: ProcName[] = ["loadgen", "targets"];
  out.push("CPU cost per unit of work (whole process): tunnel per Fernlink process, and the two ends (loadgen + targets) on each path");
  out.push(
    table(
      ["scenario", "unit", "client", "server", "agent", "fernlink sum", "ends tunnel", "ends direct"],
      scenarios.map((sc) => {
        const t = runsOf(sc, "tunnel");
        return [
          sc,
          unitName(t[0]),
          perUnit(t, ["client"]),
          perUnit(t, ["server"]),
          perUnit(t, ["agent"]),
          perUnit(t, ["client", "server", "agent"]),
          perUnit(t, ends),
          perUnit(runsOf(sc, "direct"), ends),
        ];
      }),
    ),
  );
  const tunnelRuns = r.runs.filter((x) => x.path === "tunnel");
  const direct = r.runs.filter((x) => x.path === "direct");
  const avgOther = (xs: Measured[]): number => xs.reduce((a, x) => a + x.otherCpu * x.wallSeconds, 0) / Math.max(1e-9, wall(xs));
  out.push(
    `other CPU on the machine, average: tunnel runs ${avgOther(tunnelRuns).toFixed(0)} %, direct runs ${avgOther(direct).toFixed(0)} % (of one ` +
      `core, ${r.machine.cpus} cores)`,
  );
  out.push("");
  const mem = r.memoryMiB;
  const names: (keyof Rss)[] = ["server", "agent", "client"];
  out.push("RSS, MiB");
  out.push(
    table(
      ["process", "idle", "peak under parallel bulk", "idle after load"],
      names.map((n) => [n, fmt(mem.idle[n] ?? NaN), fmt(mem.peakUnderParallelBulk[n] ?? NaN), fmt(mem.afterLoad[n] ?? NaN)]),
    ),
  );
  out.push("");
  out.push(`${r.config.repeat} run(s) per path and scenario, medians shown; total ${r.seconds.toFixed(1)} s`);
  return out.join("\n");
}
