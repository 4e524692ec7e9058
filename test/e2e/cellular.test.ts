import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { bytesPerDay, CountingProxy, type WireCount } from "../../bench/counting-proxy.js";
import { AGENT_KEEPALIVE } from "../../src/protocol/tunnel-settings.js";
import { Site } from "./helpers/fernlink.js";
import { type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { echoOnce, startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Cellular machines: what an idle agent costs on the wire, counted by a TCP proxy in its path
 * (kernel counters of the proxy's socket towards the agent), with a slow keep-alive the relay
 * must learn, and in on-demand mode, where the agent holds no tunnel and a user's `connect`
 * waits for its next check-in.
 */

const ACME = { account: "acme", user: "alice" };
const BUDGET_BYTES_PER_DAY = 100_000;
const CELLULAR_INTERVAL_MS = 300_000;
const DEFAULT_CHECK_IN_MS = 300_000;

let sb: Sandbox;
let site: Site;
let echo: Target;
/** An agent PINGing every 30 s: longer than the relay's own 25 s of allowed silence. */
let slow: { agent: Proc; startedAt: number };

/** A device whose agent reaches the server only through `proxy` (API calls and tunnel alike). */
async function deviceBehind(proxy: CountingProxy, name: string): Promise<string> {
  const key = await site.addDevice("alice", name);
  const dir = sb.path(`agent-${name}`);
  await site.ok("agent", ["agent", "register", "--server", `https://127.0.0.1:${proxy.port}`, "--ca", site.ca, "--key", key, "--state", dir]);
  return dir;
}

async function proxyToServer(): Promise<CountingProxy> {
  const proxy = await CountingProxy.start(site.port);
  sb.defer(() => proxy.close());
  return proxy;
}

function minus(a: WireCount, b: WireCount): WireCount {
  return {
    connections: a.connections - b.connections,
    payloadBytes: a.payloadBytes - b.payloadBytes,
    segments: a.segments - b.segments,
    wireBytes: a.wireBytes - b.wireBytes,
  };
}

before(async () => {
  sb = await Sandbox.create("cellular");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  const dir = await deviceBehind(await proxyToServer(), "slow-1");
  const agent = sb.start(["agent", "run", "--state", dir, "--keepalive", "30"], { home: site.home("agent") });
  await agent.waitForLine(/^fernlink agent online: /);
  slow = { agent, startedAt: Date.now() };
});

after(() => sb?.cleanup());

test("an idle agent's keep-alive, counted on the wire, fits the cellular budget at the cellular profile's interval", async (t) => {
  const proxy = await proxyToServer();
  const dir = await deviceBehind(proxy, "idle-1");
  const agent = sb.start(["agent", "run", "--state", dir, "--keepalive", "1"], { home: site.home("agent") });
  t.after(() => agent.stop());
  await agent.waitForLine(/^fernlink agent online: /);
  await sleep(2_000);
  const start = await proxy.total();
  const startedAt = Date.now();
  await sleep(10_000);
  const idle = minus(await proxy.total(), start);
  const pings = (Date.now() - startedAt) / 1_000;
  const perPing = idle.wireBytes / pings;
  t.diagnostic(
    `one PING and its answer: ${perPing.toFixed(0)} B on the wire (${(idle.payloadBytes / pings).toFixed(0)} B TLS, ` +
      `${(idle.segments / pings).toFixed(1)} segments)`,
  );
  t.diagnostic(
    `per idle day: ${(bytesPerDay(perPing, AGENT_KEEPALIVE.intervalMs) / 1000).toFixed(0)} KB at the default ${AGENT_KEEPALIVE.intervalMs / 1000} s, ` +
      `${(bytesPerDay(perPing, CELLULAR_INTERVAL_MS) / 1000).toFixed(1)} KB cellular (5 min)`,
  );
  assert.equal(proxy.openNow, 1, "the idle agent holds exactly one connection");
  // Two TLS records of a 17-byte PING frame (39 B each) and at least their two segments' headers: the counting works.
  assert.ok(perPing >= 150 && perPing <= 400, `${perPing} B per PING is not what one PING round trip costs`);
  assert.ok(bytesPerDay(perPing, CELLULAR_INTERVAL_MS) <= BUDGET_BYTES_PER_DAY, `cellular profile costs ${bytesPerDay(perPing, CELLULAR_INTERVAL_MS)} B a day`);
});

test("an on-demand agent holds no tunnel, and its check-ins are counted on the wire", async (t) => {
  const proxy = await proxyToServer();
  const dir = await deviceBehind(proxy, "press-od");
  // Registration went through the proxy too; only what `agent run` costs is counted.
  const registered = proxy.closedSoFar;
  const agent = sb.start(["agent", "run", "--state", dir, "--on-demand", "--check-in", "2s", "--idle", "2s"], { home: site.home("agent") });
  t.after(() => agent.stop());
  await agent.waitForLine(/^fernlink agent on demand: device "press-od" checks in every 2 s$/);
  const closedSince = (n: number) => async () => (proxy.closedSoFar.connections >= registered.connections + n ? true : undefined);
  await waitUntil("the first check-in", closedSince(1), 10_000);
  const first = minus(proxy.closedSoFar, registered);
  await waitUntil("four more check-ins", closedSince(5), 20_000);
  const later = minus(minus(proxy.closedSoFar, registered), first);
  const perCheckIn = later.wireBytes / later.connections;
  t.diagnostic(`first check-in (full TLS handshake): ${first.wireBytes} B on the wire; later ones (TLS session resumed): ${perCheckIn.toFixed(0)} B each`);
  t.diagnostic(
    `per idle day: ${(bytesPerDay(perCheckIn, DEFAULT_CHECK_IN_MS) / 1000).toFixed(0)} KB at the default 5 min, ` +
      `${(bytesPerDay(perCheckIn, 1_800_000) / 1000).toFixed(0)} KB at 30 min`,
  );
  assert.equal(proxy.openNow, 0, "an on-demand agent nobody asked for holds no connection between check-ins");
  assert.equal((await site.devices("alice")).find((d) => d.name === "press-od")?.online, false);
  assert.equal(first.connections, 1);
  assert.ok(perCheckIn > 500, `${perCheckIn} B cannot be a TLS connection`);
  // The first carries both certificate chains; a resumed session carries none.
  assert.ok(perCheckIn < first.wireBytes - 1_000, `check-ins after the first (${perCheckIn} B) should resume the TLS session (${first.wireBytes} B)`);
});

test("connect to an on-demand device waits for its check-in with a countdown, then carries bytes", async (t) => {
  const proxy = await proxyToServer();
  const dir = await deviceBehind(proxy, "press-9");
  const registered = proxy.closedSoFar.connections;
  const agent = sb.start(["agent", "run", "--state", dir, "--on-demand", "--check-in", "2s"], { home: site.home("agent") });
  t.after(() => agent.stop());
  await waitUntil("the first check-in", async () => (proxy.closedSoFar.connections > registered ? true : undefined), 10_000);
  const startedAt = Date.now();
  const conn = sb.start(["connect", "press-9", "--forward", `0:127.0.0.1:${echo.port}`], { home: site.home("alice") });
  t.after(() => conn.stop());
  await waitUntil(
    "the countdown",
    async () => (/^waiting for press-9 to check in: (overdue by )?0:0[0-3] \(Ctrl-C to stop\)$/m.test(conn.stderr) ? true : undefined),
    10_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- connect's stderr\n${conn.stderr}--- stdout\n${conn.stdout}`);
  });
  const askedAt = Date.now();
  const m = await conn.waitForLine(new RegExp(`^forwarding 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:${echo.port} via press-9$`), 15_000);
  const waited = Date.now() - askedAt;
  t.diagnostic(`connect was ready ${waited} ms after it asked for the device (${Date.now() - startedAt} ms after it started; check-in every 2 s)`);
  // One check-in interval, plus the wait's 1 s poll, two TLS set-ups (relay list, tunnel) and a busy machine's slack.
  assert.ok(waited < 2_000 + 3_000, `connect took ${waited} ms`);
  assert.match(conn.stderr, /^press-9 checked in; connecting$/m);
  assert.equal(await echoOnce(Number(m[1]), "through an on-demand tunnel\n"), "through an on-demand tunnel\n");
});

test("Ctrl-C ends a connect that waits for a device's check-in", async (t) => {
  const proxy = await proxyToServer();
  const dir = await deviceBehind(proxy, "press-far");
  const registered = proxy.closedSoFar.connections;
  const agent = sb.start(["agent", "run", "--state", dir, "--on-demand", "--check-in", "10m"], { home: site.home("agent") });
  t.after(() => agent.stop());
  await waitUntil("the first check-in", async () => (proxy.closedSoFar.connections > registered ? true : undefined), 10_000);
  const conn = sb.start(["connect", "press-far", "--forward", `0:127.0.0.1:${echo.port}`], { home: site.home("alice") });
  // Any countdown will do (the test above checks its figure): when connect asks before the
  // service has stored the first check-in, it counts down from the default interval instead.
  await waitUntil(
    "the countdown",
    async () => (/^waiting for press-far to check in: (overdue by )?\d+:\d\d \(Ctrl-C to stop\)$/m.test(conn.stderr) ? true : undefined),
    20_000,
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- connect's stderr\n${conn.stderr}--- stdout\n${conn.stdout}`);
  });
  const stoppedAt = Date.now();
  const result = await conn.stop("SIGINT");
  assert.equal(result.code, 130, result.stderr);
  assert.ok(Date.now() - stoppedAt < 3_000);
  assert.doesNotMatch(result.stdout, /forwarding/);
});

test("the relay keeps an agent that announced a keep-alive slower than its own silence limit", async () => {
  const left = slow.startedAt + 33_000 - Date.now();
  if (left > 0) await sleep(left);
  assert.equal(slow.agent.running, true);
  assert.doesNotMatch(slow.agent.stderr, /tunnel lost/);
  assert.equal(slow.agent.stderr.match(/ agent: tunnel up /g)?.length, 1, slow.agent.stderr);
  assert.doesNotMatch(site.server.stderr, /keep-alive timed out/);
  assert.equal((await site.devices("alice")).find((d) => d.name === "slow-1")?.online, true);
});
