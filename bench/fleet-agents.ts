/**
 * A forked bench helper that plays thousands of devices in one process with the real agent
 * code: it adds each device through the REST API, registers it (`registerAgent`, the code of
 * `fernlink agent register`) and keeps its tunnel up with `runAgent`. The orchestrator asks
 * over IPC (FleetJob in shared.ts) and reads the answers.
 *
 * Every outgoing connection of this process is bound to one loopback source address (the
 * first job names it), so a few of these processes hold tens of thousands of connections to
 * one server port without running out of ephemeral ports.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import tls from "node:tls";
import { registerAgent } from "../src/agent/register.js";
import { runAgent } from "../src/agent/run.js";
import { loadAgentState } from "../src/agent/state.js";
import { ActivationKeyResponse, ROUTES, routePath } from "../src/protocol/api.js";
import { errorMessage, FernlinkError } from "../src/protocol/errors.js";
import { requestJson } from "../src/shared/https-json.js";
import type { Logger } from "../src/shared/log.js";
import type { ChildMessage, FleetAnswer, FleetJob } from "./shared.js";

/** One simulated device: its state directory, and when its tunnel came up (epoch ms). */
interface Device {
  stateDir: string;
  connects: number[];
  stop: AbortController;
}

const devices: Device[] = [];
/** Warnings of all agents by message and reason ("cannot connect: …"): how hard reconnecting was. */
const warnings = new Map<string, number>();

/** Counts a warning under its message and reason, numbers (ports, ids) masked so alike reasons add up. */
function count(msg: string, fields?: Record<string, unknown>): void {
  const reason = typeof fields?.["reason"] === "string" ? `: ${fields["reason"].replace(/\d+/g, "N").slice(0, 100)}` : "";
  warnings.set(msg + reason, (warnings.get(msg + reason) ?? 0) + 1);
}

const log: Logger = { debug: () => {}, info: () => {}, warn: count, error: count };

/**
 * Binds every TLS connection (tunnels and REST calls alike) to `address`, and gives each
 * one the device's TLS context parsed once: a real device parses its key and certificates
 * on its own CPU, here thousands share this process's, which would otherwise spend much of
 * a reconnect storm parsing PEM and answer its tunnels' keep-alive PINGs late.
 */
function bindSource(address: string): void {
  const connect = tls.connect;
  const contexts = new Map<string, tls.SecureContext>();
  const contextOf = (o: tls.ConnectionOptions): tls.SecureContext | undefined => {
    if (o.secureContext || typeof o.ca !== "string") return o.secureContext;
    const id = `${String(o.key ?? "")}${String(o.cert ?? "")}${o.ca}`;
    let context = contexts.get(id);
    if (!context) {
      context = tls.createSecureContext({ key: o.key, cert: o.cert, ca: o.ca });
      contexts.set(id, context);
    }
    return context;
  };
  const bound = (...args: unknown[]): tls.TLSSocket => {
    const [first, ...rest] = args;
    if (typeof first !== "object" || first === null) return (connect as (...a: unknown[]) => tls.TLSSocket).apply(tls, args);
    const options = first as tls.ConnectionOptions;
    const secureContext = contextOf(options);
    return (connect as (...a: unknown[]) => tls.TLSSocket).apply(tls, [
      { localAddress: address, ...options, ...(secureContext ? { secureContext } : {}) },
      ...rest,
    ]);
  };
  Object.defineProperty(tls, "connect", { value: bound, writable: true, configurable: true });
}

/** Runs `work` over `items` with at most `concurrency` at once. */
async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Tries per device before registration gives up: a loaded server may drop a connection now and then. */
const REGISTER_TRIES = 5;

/**
 * Adds the device and registers it, as an admin and then the device would. A try that failed
 * on the way is taken up where it stopped: a device already added gets a new key instead.
 */
async function registerOne(job: Extract<FleetJob, { op: "register" }>, name: string): Promise<void> {
  const api = { server: job.server, ca: job.caPem, token: job.token, response: ActivationKeyResponse };
  const stateDir = join(job.stateRoot, name);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  let added = false;
  for (let tries = 1; ; tries++) {
    try {
      const key = added
        ? await requestJson({ ...api, path: routePath(ROUTES.deviceKey, { name }), method: "POST" })
        : await requestJson({ ...api, path: ROUTES.devices, body: { name, lan: ["127.0.0.0/8"] } });
      added = true;
      await registerAgent({ server: job.server, ca: job.caPem, activationKey: key.activationKey, stateDir });
      return;
    } catch (err) {
      if (err instanceof FernlinkError && err.code === "conflict") added = true;
      if (tries >= REGISTER_TRIES) throw err;
      count("registration retried", { reason: errorMessage(err) });
    }
  }
}

/** Adds and registers each named device, `concurrency` at a time. */
async function register(job: Extract<FleetJob, { op: "register" }>): Promise<FleetAnswer> {
  const t0 = performance.now();
  await pool(job.names, job.concurrency, (name) => registerOne(job, name));
  return { op: "register", count: job.names.length, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Starts an agent for each state directory, at most `connecting` of them not yet online at
 * once, so the fleet joins at the pace the server can take; resolves when all are up.
 */
async function run(job: Extract<FleetJob, { op: "run" }>): Promise<FleetAnswer> {
  const t0 = performance.now();
  await pool(job.stateDirs, job.connecting, async (stateDir) => {
    const state = await loadAgentState(stateDir);
    const device: Device = { stateDir, connects: [], stop: new AbortController() };
    devices.push(device);
    await new Promise<void>((online, failed) => {
      runAgent({
        state,
        allow: [],
        log,
        signal: device.stop.signal,
        onConnected: () => {
          device.connects.push(Date.now());
          online();
        },
      }).catch(failed);
    });
  });
  return { op: "run", count: job.stateDirs.length, seconds: (performance.now() - t0) / 1000 };
}

/** The first connect of each device at or after `since`; NaN for a device not back yet. */
function connects(since: number): FleetAnswer {
  const firstAfter = devices.map((d) => d.connects.find((t) => t >= since) ?? NaN);
  return { op: "connects", firstAfter, warnings: Object.fromEntries(warnings) };
}

function stop(): FleetAnswer {
  for (const d of devices.splice(0)) d.stop.abort();
  return { op: "stop", count: 0 };
}

async function answer(job: FleetJob): Promise<FleetAnswer> {
  switch (job.op) {
    case "bind":
      bindSource(job.sourceAddress);
      return { op: "bind", count: 0 };
    case "register":
      return register(job);
    case "run":
      return run(job);
    case "connects":
      return connects(job.since);
    case "stop":
      return stop();
  }
}

process.on("message", (job: FleetJob) => {
  answer(job).then(
    (fleet) => process.send?.({ ok: true, fleet } satisfies ChildMessage),
    (err: unknown) => process.send?.({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies ChildMessage),
  );
});
