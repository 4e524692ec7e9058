/**
 * A fleet of simulated devices against one `fernlink server`, for the scale scenarios
 * (scale.ts): the server started through the CLI with per-source limits lifted (all devices
 * come from a few loopback addresses, where a real fleet comes from thousands), an admin
 * logged in, and fleet helpers (fleet-agents.ts) that each play up to `perHelper` devices
 * with the real agent code from their own loopback source address.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { STATE_FILES } from "../src/agent/state.js";
import { loadSession } from "../src/client/client-state.js";
import { ROUTES } from "../src/protocol/api.js";
import { StatusResponse } from "../src/protocol/api-live.js";
import { requestJson } from "../src/shared/https-json.js";
import { Helper, runCli, type Started, startCli } from "./procs.js";
import type { FleetAnswer, FleetJob } from "./shared.js";

/** Registering or joining thousands of devices takes minutes, not the seconds of other jobs. */
const FLEET_JOB_TIMEOUT_MS = 600_000;

/** Where the fleet's server keeps its state, and how to start it. */
export interface FleetServerSpec {
  cli: string;
  tmp: string;
  env: NodeJS.ProcessEnv;
  /** Extra node flags for the server process (e.g. --inspect). */
  nodeArgs?: string[];
}

/** A bench environment of its own below `tmp`: client home and server data. */
export function fleetEnv(tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FERNLINK_HOME: join(tmp, "home"), FERNLINK_PASSWORD: "bench-password-1234" };
  delete env["FERNLINK_LOG"];
  delete env["FERNLINK_CA"];
  delete env["FERNLINK_DB"];
  return env;
}

/**
 * Starts `fernlink server` on `port` (0: any), on the data directory below `spec.tmp`, so a
 * restart on the same port finds the same devices. Lifted for the bench: the cap on
 * unproven connections per source address (here one address carries thousands of agents).
 */
export function startFleetServer(spec: FleetServerSpec, port = 0): Promise<Started> {
  const args = ["server", "--data", join(spec.tmp, "data"), "--listen", `127.0.0.1:${port}`, "--init-account", "bench", "--init-user", "bench"];
  args.push("--max-unauthenticated-per-source", "1000000");
  return startCli(spec.cli, args, spec.env, /fernlink server ready: (https:\/\/\S+)/, spec.nodeArgs ?? [], 60_000);
}

/** The admin's view of the fleet server: URL, CA and session token. */
export interface Admin {
  server: string;
  caPem: string;
  token: string;
}

/** Logs the bench admin in through the CLI and reads the session it saved. */
export async function loginAdmin(spec: FleetServerSpec, url: string): Promise<Admin> {
  const ca = join(spec.tmp, "data", "ca.pem");
  await runCli(spec.cli, ["login", "--server", url, "--ca", ca, "--account", "bench", "--user", "bench"], spec.env);
  const session = await loadSession(spec.env["FERNLINK_HOME"]!);
  return { server: url, caPem: await readFile(ca, "utf8"), token: session.token };
}

/** Devices with a tunnel up, as the server counts them (GET /api/v1/status). */
export async function onlineCount(admin: Admin): Promise<number> {
  const status = await requestJson({ server: admin.server, path: ROUTES.status, ca: admin.caPem, token: admin.token, response: StatusResponse });
  return status.agents;
}

/** Polls the server until its count of online devices satisfies `done`; resolves with the epoch ms it first did. */
async function waitCount(admin: Admin, done: (count: number) => boolean, what: string, timeoutMs: number, everyMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    last = await onlineCount(admin).catch(() => last);
    if (done(last)) return Date.now();
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${last} devices online after ${timeoutMs / 1000} s, waiting for ${what}`);
}

/** Resolves (epoch ms) once at least `n` devices are online. */
export function waitOnline(admin: Admin, n: number, timeoutMs: number, everyMs = 250): Promise<number> {
  return waitCount(admin, (count) => count >= n, `${n} online`, timeoutMs, everyMs);
}

/** Resolves (epoch ms) once at most `n` devices are online. */
export function waitOffline(admin: Admin, n: number, timeoutMs: number, everyMs = 250): Promise<number> {
  return waitCount(admin, (count) => count >= 0 && count <= n, `at most ${n} online`, timeoutMs, everyMs);
}

/** The name of device `i`, and which helper plays it. */
export const deviceName = (i: number): string => `dev-${String(i).padStart(5, "0")}`;

/** Fleet helpers, helper h playing devices [h·perHelper, (h+1)·perHelper). */
export class Fleet {
  private constructor(
    readonly helpers: Helper[],
    readonly perHelper: number,
    private readonly stateRoot: string,
  ) {}

  /** Forks enough helpers for `devices`, helper h bound to source 127.0.0.(h+2). */
  static async start(devices: number, perHelper: number, stateRoot: string): Promise<Fleet> {
    const helpers = Array.from({ length: Math.ceil(devices / perHelper) }, () => new Helper(new URL("./fleet-agents.js", import.meta.url)));
    const fleet = new Fleet(helpers, perHelper, stateRoot);
    await Promise.all(helpers.map((h, i) => fleet.ask(h, { op: "bind", sourceAddress: `127.0.0.${i + 2}` })));
    return fleet;
  }

  private async ask(helper: Helper, job: FleetJob): Promise<FleetAnswer> {
    const answer = await helper.request(job, FLEET_JOB_TIMEOUT_MS);
    if (!("fleet" in answer)) throw new Error(`fleet helper answered ${job.op} with something else`);
    return answer.fleet;
  }

  /** Device indexes [from, to) split by the helper that plays them. */
  private byHelper(from: number, to: number): [Helper, number[]][] {
    const out: [Helper, number[]][] = [];
    this.helpers.forEach((h, k) => {
      const lo = Math.max(from, k * this.perHelper);
      const hi = Math.min(to, (k + 1) * this.perHelper);
      if (lo < hi) out.push([h, Array.from({ length: hi - lo }, (_, j) => lo + j)]);
    });
    return out;
  }

  /** How many of devices [0, n) have a complete state (a kept fleet directory), counted from 0. */
  registered(n: number): number {
    let i = 0;
    while (i < n && existsSync(join(this.stateRoot, deviceName(i), STATE_FILES.config))) i++;
    return i;
  }

  /** Adds and registers devices [from, to) through the API, `concurrency` at a time per helper. */
  async register(admin: Admin, from: number, to: number, concurrency: number): Promise<void> {
    const jobs = this.byHelper(from, to).map(([h, ids]) =>
      this.ask(h, { op: "register", ...admin, names: ids.map(deviceName), stateRoot: this.stateRoot, concurrency }),
    );
    await Promise.all(jobs);
  }

  /** Starts the agents of devices [from, to); resolves once each of them reported its tunnel up. */
  async run(from: number, to: number, connecting: number): Promise<void> {
    const jobs = this.byHelper(from, to).map(([h, ids]) =>
      this.ask(h, { op: "run", stateDirs: ids.map((i) => join(this.stateRoot, deviceName(i))), connecting }),
    );
    await Promise.all(jobs);
  }

  /** Stops the agents of the helpers that play devices at or past `from`. */
  async stopFrom(from: number): Promise<void> {
    await Promise.all(this.helpers.filter((_, k) => k * this.perHelper >= from).map((h) => this.ask(h, { op: "stop" })));
  }

  /** Per running device, when its tunnel first came up at or after `since` (NaN: not yet); warnings summed. */
  async connects(since: number): Promise<{ firstAfter: number[]; warnings: Record<string, number> }> {
    const answers = await Promise.all(this.helpers.map((h) => this.ask(h, { op: "connects", since })));
    const firstAfter: number[] = [];
    const warnings: Record<string, number> = {};
    for (const a of answers) {
      if (a.op !== "connects") continue;
      firstAfter.push(...a.firstAfter.map((t) => t ?? NaN));
      for (const [k, v] of Object.entries(a.warnings)) warnings[k] = (warnings[k] ?? 0) + v;
    }
    return { firstAfter, warnings };
  }
}
