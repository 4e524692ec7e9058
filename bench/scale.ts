/**
 * The relay at fleet scale, with the real agent code (fleet.ts, fleet-agents.ts):
 *
 * - idle: memory of one `fernlink server` holding N idle tunnels. The server is restarted
 *   after registration, so its baseline holds no registration garbage; then the fleet joins
 *   in steps and, once the server counts every device online and a few seconds passed,
 *   its RSS is read from /proc (the figure of record) and its heap through the inspector.
 *   Per device = (reading with N − reading with 0) / N.
 * - storm: N tunnels up for over 30 s (so each agent's backoff starts afresh, as after a
 *   long uptime), the server SIGKILLed and started again on the same data and port. Times
 *   from the kill: server ready, and every device online as the server counts them; each
 *   agent's first tunnel-up after the kill, in one-second bins, gives the storm's shape.
 */
import { readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchConfig } from "./config.js";
import { type Admin, Fleet, type FleetServerSpec, fleetEnv, loginAdmin, onlineCount, startFleetServer, waitOffline, waitOnline } from "./fleet.js";
import { type HeapReading, INSPECT_FLAG, inspectorUrl, memoryOf } from "./inspector.js";
import { type Started, stopProcess } from "./procs.js";
import { cpuPercent, cpuSample, machinePercent, machineSample, rssMiB } from "./procstat.js";
import { table } from "./report.js";

/** One step of the idle scenario: the server's memory with `devices` tunnels up. */
export interface IdleStep {
  devices: number;
  rssMiB: number;
  /** After a full GC (inspector); absent when the inspector did not answer. */
  heap?: HeapReading;
  /** From starting the step's agents to the server counting them all online. */
  joinSeconds: number;
}

export interface IdleMemoryReport {
  /** Devices added and registered by this run (a kept fleet directory may hold some already), and how long that took. */
  register: { devices: number; seconds: number };
  steps: IdleStep[];
  /** (step − step with 0 devices) / devices, KiB. */
  perDeviceKiB: { devices: number; rss: number; heapUsed?: number; external?: number }[];
  /**
   * After the largest step, devices past the storm's size left again: what a closed tunnel
   * gives back. Memory a tunnel held is given back; what stays was the allocator's (freed
   * but still mapped) or the heap's (room V8 keeps).
   */
  afterLeaving?: IdleStep;
}

export interface StormReport {
  devices: number;
  /** From the SIGKILL to the new server's ready line. */
  restartSeconds: number;
  /** From the SIGKILL to the server counting every device online; null when that took over STORM_LIMIT_MS. */
  allBackSeconds: number | null;
  /** Devices the server counted online at the end (all of them, unless the storm did not settle in time). */
  onlineAtEnd: number;
  /** Devices whose tunnel came up in second k after the kill. */
  perSecond: number[];
  /** The largest share of the devices that came back in one second, and which second. */
  peakShare: number;
  peakSecond: number;
  /** The agents' warnings while reconnecting, by message ("cannot connect", …). */
  agentWarnings: Record<string, number>;
  /**
   * CPU from the kill to all back, % of one core: the new server, the fleet helpers (all
   * devices' agent code shares this machine's cores with the server), everything else.
   */
  cpuPercent: { server: number; agents: number; other: number };
}

export interface ScaleReport {
  idleMemory?: IdleMemoryReport;
  reconnectStorm?: StormReport;
}

const MiB = 2 ** 20;
/** Time after the last device joined before memory is read: late handshakes' garbage is collected. */
const SETTLE_MS = 5000;
/** How long after the kill the storm bench waits for every device to be back. */
const STORM_LIMIT_MS = 300_000;
/** The agent resets its backoff after a tunnel lived this long (STABLE_MS in src/agent/run.ts). */
const STABLE_TUNNEL_MS = 31_000;

async function readMemory(server: Started, url: string | undefined, devices: number, joinSeconds: number): Promise<IdleStep> {
  const rss = rssMiB(server.pid);
  const heap = url ? await memoryOf(url).catch(() => undefined) : undefined;
  process.stderr.write(`  idle ${devices} devices: server RSS ${rss.toFixed(1)} MiB${heap ? `, heap used ${(heap.heapUsed / MiB).toFixed(1)} MiB` : ""}\n`);
  return { devices, rssMiB: rss, ...(heap ? { heap } : {}), joinSeconds };
}

function perDevice(steps: IdleStep[]): IdleMemoryReport["perDeviceKiB"] {
  const base = steps[0]!;
  return steps.slice(1).map((s) => {
    const kib = (a: number, b: number): number => (a - b) / 1024 / s.devices;
    return {
      devices: s.devices,
      rss: kib(s.rssMiB * MiB, base.rssMiB * MiB),
      ...(s.heap && base.heap ? { heapUsed: kib(s.heap.heapUsed, base.heap.heapUsed), external: kib(s.heap.external, base.heap.external) } : {}),
    };
  });
}

async function idleMemory(
  spec: FleetServerSpec,
  fleet: Fleet,
  sizes: number[],
  connecting: number,
  port: number,
  register: IdleMemoryReport["register"],
): Promise<{ report: IdleMemoryReport; server: Started; admin: Admin; inspector: string | undefined }> {
  const server = await startFleetServer({ ...spec, nodeArgs: [...(spec.nodeArgs ?? []), INSPECT_FLAG] }, port);
  // Read now: the tail of the server's output soon holds only its log lines.
  const url = inspectorUrl(server.output());
  const admin = await loginAdmin(spec, server.match[1]!);
  await sleep(2000);
  const steps = [await readMemory(server, url, 0, 0)];
  let running = 0;
  for (const n of sizes) {
    const t0 = performance.now();
    await fleet.run(running, n, connecting);
    await waitOnline(admin, n, 300_000);
    const joinSeconds = (performance.now() - t0) / 1000;
    running = n;
    await sleep(SETTLE_MS);
    steps.push(await readMemory(server, url, n, joinSeconds));
  }
  return { report: { register, steps, perDeviceKiB: perDevice(steps) }, server, admin, inspector: url };
}

async function storm(spec: FleetServerSpec, fleet: Fleet, server: Started, admin: Admin, devices: number, port: number): Promise<StormReport> {
  await sleep(STABLE_TUNNEL_MS);
  const machineBefore = machineSample();
  const agentsBefore = fleet.helpers.map((h) => cpuSample(h.pid));
  // The new server's CPU time starts at 0 when it starts: count it from the kill.
  const serverFrom = { at: performance.now(), process: 0, main: 0 };
  const killedAt = Date.now();
  await stopProcess(server, "SIGKILL");
  const restarted = await startFleetServer(spec, port);
  const readyAt = Date.now();
  process.stderr.write(`  storm: server ready ${((readyAt - killedAt) / 1000).toFixed(1)} s after the kill\n`);
  // A storm that does not settle is a result too: how many came back by the deadline.
  let online = 0;
  let allBackAt: number | undefined;
  while (Date.now() < killedAt + STORM_LIMIT_MS && allBackAt === undefined) {
    online = await onlineCount(admin).catch(() => online);
    if (online >= devices) allBackAt = Date.now();
    else await sleep(100);
  }
  const machine = machinePercent(machineBefore, machineSample(), cpus().length);
  const serverCpu = cpuPercent(serverFrom, cpuSample(restarted.pid)).process;
  const agentsCpu = fleet.helpers.reduce((a, h, i) => a + cpuPercent(agentsBefore[i]!, cpuSample(h.pid)).process, 0);
  const { firstAfter, warnings } = await fleet.connects(killedAt);
  const perSecond: number[] = [];
  for (const t of firstAfter) {
    if (!Number.isFinite(t)) continue;
    const k = Math.floor((t - killedAt) / 1000);
    while (perSecond.length <= k) perSecond.push(0);
    perSecond[k]!++;
  }
  const peak = Math.max(0, ...perSecond);
  const back =
    allBackAt === undefined
      ? `${online} of ${devices} back when the bench gave up`
      : `all ${devices} back ${((allBackAt - killedAt) / 1000).toFixed(1)} s after the kill`;
  process.stderr.write(`  storm: ${back}; per second ${perSecond.join(" ")}\n`);
  await stopProcess(restarted, "SIGTERM");
  return {
    devices,
    restartSeconds: (readyAt - killedAt) / 1000,
    allBackSeconds: allBackAt === undefined ? null : (allBackAt - killedAt) / 1000,
    onlineAtEnd: online,
    perSecond,
    peakShare: peak / devices,
    peakSecond: perSecond.indexOf(peak),
    agentWarnings: warnings,
    cpuPercent: { server: serverCpu, agents: agentsCpu, other: machine - serverCpu - agentsCpu },
  };
}

/** Runs the scale scenarios that `config.only` asks for, below `tmp`. */
export async function runScale(config: BenchConfig, tmp: string): Promise<ScaleReport> {
  const c = config.scale;
  const profile = config.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${config.cpuProfDir}`] : [];
  const dir = c.fleetDir ?? join(tmp, "fleet");
  const spec: FleetServerSpec = { cli: config.cli, tmp: dir, env: fleetEnv(dir), nodeArgs: profile };
  const idle = config.only.has("idle");
  if (idle && c.stormDevices % c.devicesPerHelper !== 0) {
    throw new Error(
      `BENCH_STORM_DEVICES=${c.stormDevices}: after the idle steps the storm keeps whole helpers, ` +
        `so use a multiple of BENCH_DEVICES_PER_HELPER=${c.devicesPerHelper}`,
    );
  }
  const total = Math.max(idle ? Math.max(...c.idleDevices) : 0, config.only.has("storm") ? c.stormDevices : 0);
  // The devices' state names the server's URL: a kept fleet's server listens where it did before.
  const portFile = join(dir, "port");
  const keptPort = Number(await readFile(portFile, "utf8").catch(() => "0"));
  const first = await startFleetServer(spec, keptPort);
  const port = Number(new URL(first.match[1]!).port);
  await writeFile(portFile, String(port));
  const fleet = await Fleet.start(total, c.devicesPerHelper, join(dir, "agents"));
  const t0 = performance.now();
  const found = fleet.registered(total);
  await fleet.register(await loginAdmin(spec, first.match[1]!), found, total, c.registerConcurrency);
  const register = { devices: total - found, seconds: (performance.now() - t0) / 1000 };
  process.stderr.write(`  registered ${register.devices} devices in ${register.seconds.toFixed(1)} s (${found} kept from an earlier run)\n`);
  // A fresh process on the same data: the readings below hold no registration garbage.
  await stopProcess(first, "SIGTERM");
  const out: ScaleReport = {};
  let server: Started;
  let admin: Admin;
  if (idle) {
    const r = await idleMemory(spec, fleet, c.idleDevices, c.connecting, port, register);
    ({ server, admin } = r);
    out.idleMemory = r.report;
    if (c.stormDevices < total) {
      await fleet.stopFrom(c.stormDevices);
      await waitOffline(admin, c.stormDevices, 60_000);
      await sleep(SETTLE_MS);
      out.idleMemory.afterLeaving = await readMemory(server, r.inspector, c.stormDevices, 0);
    }
  } else {
    server = await startFleetServer(spec, port);
    admin = await loginAdmin(spec, server.match[1]!);
    await fleet.run(0, c.stormDevices, c.connecting);
  }
  if (config.only.has("storm")) {
    await waitOnline(admin, c.stormDevices, 300_000);
    out.reconnectStorm = await storm(spec, fleet, server, admin, c.stormDevices, port);
  } else {
    await stopProcess(server, "SIGTERM");
  }
  return out;
}

/** The scale results as text tables. */
export function renderScale(r: ScaleReport): string {
  const out: string[] = [];
  const m = r.idleMemory;
  if (m) {
    const mib = (b: number | undefined): string => (b === undefined ? "-" : (b / MiB).toFixed(1));
    out.push(`Idle devices on one server (this run registered ${m.register.devices} devices in ${m.register.seconds.toFixed(0)} s)`);
    out.push(
      table(
        ["devices", "join s", "RSS MiB", "RSS after GC", "heap used MiB", "external MiB", "RSS KiB/device", "after GC", "heap KiB/device"],
        m.steps.map((s, i) => {
          const per = i === 0 ? undefined : m.perDeviceKiB[i - 1];
          const base = m.steps[0]!;
          const gcKiB = per && s.heap && base.heap ? ((s.heap.rss - base.heap.rss) / 1024 / s.devices).toFixed(1) : "-";
          return [
            String(s.devices),
            s.joinSeconds.toFixed(1),
            s.rssMiB.toFixed(1),
            mib(s.heap?.rss),
            mib(s.heap?.heapUsed),
            mib(s.heap?.external),
            per ? per.rss.toFixed(1) : "-",
            gcKiB,
            per?.heapUsed?.toFixed(1) ?? "-",
          ];
        }),
      ),
    );
    const left = m.afterLeaving;
    const top = m.steps.at(-1);
    if (left && top) {
      const gone = top.devices - left.devices;
      const back = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined ? "-" : ((a - b) / 1024 / gone).toFixed(1));
      out.push(
        `after ${gone} devices left: RSS ${left.rssMiB.toFixed(1)} MiB, heap used ${mib(left.heap?.heapUsed)} MiB; ` +
          `given back per leaving device: RSS ${back(top.rssMiB * MiB, left.rssMiB * MiB)} KiB, heap ${back(top.heap?.heapUsed, left.heap?.heapUsed)} KiB`,
      );
    }
  }
  const s = r.reconnectStorm;
  if (s) {
    if (out.length) out.push("");
    out.push(`Reconnect storm: ${s.devices} devices, server SIGKILLed and restarted on the same data and port`);
    const back =
      s.allBackSeconds === null ? `only ${s.onlineAtEnd} back after ${STORM_LIMIT_MS / 1000} s` : `all devices back after ${s.allBackSeconds.toFixed(1)} s`;
    out.push(`  server ready after ${s.restartSeconds.toFixed(1)} s; ${back}`);
    out.push(`  busiest second: ${(100 * s.peakShare).toFixed(1)} % of the devices (second ${s.peakSecond} after the kill)`);
    out.push(`  tunnels up per second after the kill: ${s.perSecond.join(" ")}`);
    out.push(
      `  CPU meanwhile, % of one core (${cpus().length} cores): server ${s.cpuPercent.server.toFixed(0)}, agents ${s.cpuPercent.agents.toFixed(0)}, ` +
        `other processes ${s.cpuPercent.other.toFixed(0)}`,
    );
    out.push(
      `  agent warnings: ${
        Object.entries(s.agentWarnings)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "none"
      }`,
    );
  }
  return out.join("\n");
}
