/**
 * Bench sizes, all overridable by environment so a CI smoke run and a tuning session use
 * the same code:
 *
 *   BENCH_QUICK=1           small sizes, ~20 s in all
 *   BENCH_BULK_MIB          bytes per direction on one connection (default 256)
 *   BENCH_PARALLEL          parallel bulk connections (default 8)
 *   BENCH_PARALLEL_MIB      bytes per parallel connection (default 64)
 *   BENCH_RTT_N             measured ping-pongs on one connection (default 5000)
 *   BENCH_RTT_CONNS         concurrent ping-pong connections (default 10)
 *   BENCH_RTT_CONNS_N       measured ping-pongs per concurrent connection (default 2000)
 *   BENCH_CONNECTS          sequential new connections timed (default 100)
 *   BENCH_REPEAT            runs of each direct/tunnel pair; the table shows medians (default 3, quick 1)
 *   BENCH_ONLY              comma list of bulk,parallel,rtt,connect,hmi,idle,storm and of the comparison
 *                           with ssh -R and socat: vs-bulk,vs-parallel,vs-hol,vs-rr,vs-setup,keepalive,wan
 *                           ("versus" names all seven) (default all but idle and storm; hmi = the portal's
 *                           HMI host-name vs path-prefix comparison in headless Chromium, hmi-modes.ts;
 *                           idle and storm: scale.ts; the vs-* scenarios, keepalive and wan: versus.ts, wan.ts)
 *   BENCH_VS_SECONDS        seconds of each measured run of the comparison scenarios (default 4, quick 2)
 *   BENCH_WAN_RTT_MS        comma list of emulated round trips for the wan scenario (default 20,200)
 *   BENCH_KEEPALIVE_SECONDS shortest idle window for keepalive (default 70: two whole 35 s PING periods, so each PING counts once;
 *                           the window is the whole comparison run when that is longer)
 *   BENCH_DOCS=1            also write docs/PERFORMANCE.md's result section and docs/bench/*.svg (default: on
 *                           for a full run, off with BENCH_QUICK)
 *   BENCH_SCALE=1           add the fleet-scale scenarios idle and storm to the default set (minutes)
 *   BENCH_IDLE_DEVICES      comma list of fleet sizes for idle memory (default 1000,5000,10000)
 *   BENCH_STORM_DEVICES     devices in the reconnect storm (default 5000)
 *   BENCH_DEVICES_PER_HELPER  simulated devices per fleet helper process (default 2500)
 *   BENCH_FLEET_DIR         keep the fleet's server data and device states here: a later run on the same
 *                           directory registers only the devices it does not find (default: a temporary one)
 *   BENCH_CLI               fernlink cli.js to run (default ../../dist/cli.js), e.g. a patched copy
 *   BENCH_OUT               result file (default bench/results.json)
 *   BENCH_CPU_PROF          directory: run client, server and agent with --cpu-prof into it
 */
import { fileURLToPath } from "node:url";

export const SCENARIOS = [
  "bulk",
  "parallel",
  "rtt",
  "connect",
  "hmi",
  "idle",
  "storm",
  "vs-bulk",
  "vs-parallel",
  "vs-hol",
  "vs-rr",
  "vs-setup",
  "keepalive",
  "wan",
] as const;
export type Scenario = (typeof SCENARIOS)[number];
/** The fleet-scale scenarios: minutes each, so only with BENCH_SCALE=1 or by name in BENCH_ONLY. */
export const SCALE_SCENARIOS: readonly Scenario[] = ["idle", "storm"];
/** The comparison with ssh -R and socat (versus.ts, wan.ts); "versus" in BENCH_ONLY names them all. */
export const VERSUS_SCENARIOS: readonly Scenario[] = ["vs-bulk", "vs-parallel", "vs-hol", "vs-rr", "vs-setup", "keepalive", "wan"];

/** Sizes of the fleet-scale scenarios (scale.ts). */
export interface ScaleConfig {
  idleDevices: number[];
  stormDevices: number;
  devicesPerHelper: number;
  /** Device adds + registrations in flight per helper. */
  registerConcurrency: number;
  /** Agents per helper started but not yet online, while a fleet joins. */
  connecting: number;
  /** Where the fleet's server data and device states are kept between runs; undefined: the run's temporary directory. */
  fleetDir: string | undefined;
}

export interface BenchConfig {
  quick: boolean;
  bulkBytes: number;
  parallel: number;
  parallelBytes: number;
  rttN: number;
  rttWarmup: number;
  rttConns: number;
  rttConnsN: number;
  connects: number;
  connectWarmup: number;
  repeat: number;
  cpuProfDir: string | undefined;
  only: ReadonlySet<Scenario>;
  scale: ScaleConfig;
  versusSeconds: number;
  wanRttMs: number[];
  keepAliveSeconds: number;
  docs: boolean;
  cli: string;
  out: string;
}

const MiB = 1024 * 1024;

/** A positive number from the environment (at least `min` when given), or `fallback` when unset. */
export function num(name: string, fallback: number, min?: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (min !== undefined && value < min)) {
    throw new Error(`${name}=${raw}: expected a positive number${min === undefined ? "" : ` of at least ${min}`}`);
  }
  return value;
}

function only(): ReadonlySet<Scenario> {
  const raw = process.env["BENCH_ONLY"];
  if (!raw) return new Set(process.env["BENCH_SCALE"] === "1" ? SCENARIOS : SCENARIOS.filter((s) => !SCALE_SCENARIOS.includes(s)));
  const names: string[] = raw.split(",").flatMap((s): readonly string[] => (s.trim() === "versus" ? VERSUS_SCENARIOS : [s.trim()]));
  for (const n of names) if (!(SCENARIOS as readonly string[]).includes(n)) throw new Error(`BENCH_ONLY: unknown scenario "${n}" (use ${SCENARIOS.join(",")})`);
  return new Set(names as Scenario[]);
}

function sizes(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const values = raw.split(",").map(Number);
  if (!values.every((v) => Number.isInteger(v) && v > 0)) throw new Error(`${name}=${raw}: expected a comma list of whole numbers above 0`);
  return values.sort((a, b) => a - b);
}

export function loadConfig(): BenchConfig {
  const quick = process.env["BENCH_QUICK"] === "1";
  // dist-test/bench/config.js -> repository root is two levels up.
  const root = new URL("../../", import.meta.url);
  return {
    quick,
    bulkBytes: Math.round(num("BENCH_BULK_MIB", quick ? 32 : 256) * MiB),
    parallel: Math.round(num("BENCH_PARALLEL", 8)),
    parallelBytes: Math.round(num("BENCH_PARALLEL_MIB", quick ? 8 : 64) * MiB),
    rttN: Math.round(num("BENCH_RTT_N", quick ? 1000 : 5000)),
    rttWarmup: quick ? 100 : 500,
    rttConns: Math.round(num("BENCH_RTT_CONNS", 10)),
    rttConnsN: Math.round(num("BENCH_RTT_CONNS_N", quick ? 300 : 2000)),
    connects: Math.round(num("BENCH_CONNECTS", quick ? 20 : 100)),
    connectWarmup: 5,
    // Medians of several alternating runs: on a shared machine one run can be off by 2x.
    repeat: Math.round(num("BENCH_REPEAT", quick ? 1 : 3)),
    cpuProfDir: process.env["BENCH_CPU_PROF"] || undefined,
    only: only(),
    scale: {
      idleDevices: sizes("BENCH_IDLE_DEVICES", quick ? [100, 500] : [1000, 5000, 10_000]),
      stormDevices: Math.round(num("BENCH_STORM_DEVICES", quick ? 500 : 5000)),
      devicesPerHelper: Math.round(num("BENCH_DEVICES_PER_HELPER", quick ? 250 : 2500)),
      registerConcurrency: 8,
      connecting: 50,
      fleetDir: process.env["BENCH_FLEET_DIR"] || undefined,
    },
    versusSeconds: num("BENCH_VS_SECONDS", quick ? 2 : 4),
    wanRttMs: sizes("BENCH_WAN_RTT_MS", [20, 200]),
    keepAliveSeconds: num("BENCH_KEEPALIVE_SECONDS", 70),
    docs: process.env["BENCH_DOCS"] === undefined || process.env["BENCH_DOCS"] === "" ? !quick : process.env["BENCH_DOCS"] === "1",
    cli: process.env["BENCH_CLI"] ?? fileURLToPath(new URL("dist/cli.js", root)),
    out: process.env["BENCH_OUT"] ?? fileURLToPath(new URL("bench/results.json", root)),
  };
}
