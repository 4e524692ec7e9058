import assert from "node:assert/strict";
import { setMaxListeners } from "node:events";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { registerAgent } from "../../src/agent/register.js";
import { runAgent } from "../../src/agent/run.js";
import { loadAgentState } from "../../src/agent/state.js";
import { ActivationKeyResponse, ROUTES } from "../../src/protocol/api.js";
import { requestJson } from "../../src/shared/https-json.js";
import { createLogger } from "../../src/shared/log.js";
import { dropSchema, POSTGRES_URL } from "./helpers/database.js";
import { Site } from "./helpers/fernlink.js";
import { type Proc, Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * 80 agents (the real agent code, in this process) spread over two relays; one relay is
 * killed with SIGKILL and its agents come back on the other. The distribution of their
 * return times is recorded (per second) with its p99 (target 10 s, a speed figure, so
 * recorded rather than asserted while the suite shares the machine). Their first tries
 * are spread by full-jitter backoff; when they come back is up to the relay that takes them.
 */

const ACME = { account: "acme", user: "alice" };
const SCHEMA = `fernlink_e2e_${Math.random().toString(16).slice(2, 12)}`;
const DB = `${POSTGRES_URL}?schema=${SCHEMA}`;
// The bench's storm scenario (bench/scale.ts) runs thousands; here enough to see a crowd move
// on a loaded test machine without holding the suite up.
const AGENTS = 80;
const P99_WITHIN_MS = 10_000;

let sb: Sandbox;
let site: Site;
const relays = new Map<string, Proc>();
const controller = new AbortController();
// Every in-process agent listens on this one signal.
setMaxListeners(4 * AGENTS, controller.signal);
/** Per agent: the relay address it is on now, and when it last came up. */
const placed = new Map<number, { at: string; since: number }>();

before(async () => {
  sb = await Sandbox.create("relay-failover-fleet");
  sb.defer(() => dropSchema(SCHEMA));
  sb.defer(() => controller.abort());
  site = await Site.start(sb, [ACME], { db: DB, serverArgs: ["--no-relay"] });
  await site.login(ACME);
  for (const name of ["r1", "r2"]) {
    const out = await site.ok("alice", ["relay", "add", name, "--data", site.dataDir, "--db", DB]);
    const key = /^relay key: (\S+)$/m.exec(out)![1]!;
    const proc = sb.start(
      ["relay", "run", "--access", site.url, "--ca", site.ca, "--state", sb.path(`relay-${name}`), "--listen", "127.0.0.1:0"],
      // The one-time key goes in the environment, as `relay add` tells operators, not in argv.
      { home: site.home("relay"), env: { FERNLINK_RELAY_KEY: key } },
    );
    await proc.waitForLine(/^fernlink relay ready: /);
    relays.set(name, proc);
  }
});

after(() => sb?.cleanup());

test(`${AGENTS} agents on two relays: one relay killed, all its agents come back on the other; the p99 is recorded`, async (t) => {
  const { token } = JSON.parse(await readFile(`${site.home("alice")}/session.json`, "utf8")) as { token: string };
  const ca = await readFile(site.ca, "utf8");
  const log = createLogger("agent", { level: "error" });
  // Registered a few at a time, as a fleet is rolled out.
  for (let first = 0; first < AGENTS; first += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, AGENTS - first) }, async (_, k) => {
        const i = first + k;
        const added = await requestJson({
          server: site.url,
          path: ROUTES.devices,
          body: { name: `plc-${i}`, lan: ["127.0.0.0/8"] },
          ca,
          token,
          response: ActivationKeyResponse,
        });
        const dir = sb.path(`agent-${i}`);
        await registerAgent({ server: site.url, ca, activationKey: added.activationKey, stateDir: dir });
        const state = await loadAgentState(dir);
        void runAgent({ state, allow: [], log, signal: controller.signal, onConnected: (at) => placed.set(i, { at, since: Date.now() }) });
      }),
    );
  }
  await waitUntil(`all ${AGENTS} agents online`, async () => (placed.size === AGENTS ? true : undefined), 60_000, 200);
  const byRelay = new Map<string, number[]>();
  for (const [i, p] of placed) byRelay.set(p.at, [...(byRelay.get(p.at) ?? []), i]);
  t.diagnostic(`spread over the relays: ${[...byRelay.entries()].map(([at, ids]) => `${at}: ${ids.length}`).join(", ")}`);
  assert.equal(byRelay.size, 2, "the service spreads agents over both relays");
  const r1Url = /https:\/\/(\S+)/.exec(relays.get("r1")!.stdout)![1]!;
  const victims = byRelay.get(r1Url) ?? [];
  assert.ok(victims.length > AGENTS / 4, `r1 holds ${victims.length} agents`);

  const killedAt = Date.now();
  await relays.get("r1")!.stop("SIGKILL");
  await waitUntil("r1's agents are back on r2", async () => (victims.every((i) => placed.get(i)!.at !== r1Url) ? true : undefined), 120_000, 100).catch(
    (err: unknown) => {
      // What the access node and the other relay said: under a loaded suite the access node was
      // once seen refusing connections within seconds of the kill, and its reason was lost.
      const left = victims.filter((i) => placed.get(i)!.at === r1Url).length;
      const tail = (p: Proc): string => p.stderr.split("\n").slice(-30).join("\n");
      throw new Error(
        `${(err as Error).message}; ${left} of ${victims.length} still on r1; ` +
          `access node exit ${site.server.child.exitCode ?? "none"} ${site.server.child.signalCode ?? ""}\n` +
          `--- access node\n${tail(site.server)}\n--- r2\n${tail(relays.get("r2")!)}`,
      );
    },
  );
  const back = victims.map((i) => placed.get(i)!.since - killedAt).sort((x, y) => x - y);
  const pct = (p: number): number => back[Math.min(back.length - 1, Math.ceil((p / 100) * back.length) - 1)]!;
  const perSecond = new Map<number, number>();
  for (const ms of back) perSecond.set(Math.floor(ms / 1000), (perSecond.get(Math.floor(ms / 1000)) ?? 0) + 1);
  t.diagnostic(`${victims.length} agents back after: p50 ${pct(50)} ms, p90 ${pct(90)} ms, p99 ${pct(99)} ms, max ${back.at(-1)} ms`);
  t.diagnostic(
    `returns per second after the kill: ${[...perSecond.entries()]
      .sort((x, y) => x[0] - y[0])
      .map(([s, n]) => `${s}s:${n}`)
      .join(" ")}`,
  );
  // The 10 s target is a speed figure: recorded here, judged on a quiet machine (it shares
  // two cores with the rest of the suite in CI). That every agent came back is the assertion.
  t.diagnostic(`p99 ${pct(99) <= P99_WITHIN_MS ? "within" : "beyond"} the ${P99_WITHIN_MS / 1000} s target`);
});
