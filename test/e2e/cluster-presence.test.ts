import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import https from "node:https";
import net from "node:net";
import { join } from "node:path";
import { after, before, type TestContext, test } from "node:test";
import { memberWithRule, startTwoNodes } from "./helpers/cluster.js";
import { dropSchema, POSTGRES_URL } from "./helpers/database.js";
import type { AuditJson, Site } from "./helpers/fernlink.js";
import { assertExit, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Two access nodes on one PostgreSQL schema act as one service: a device connected to node A
 * reads online with A's relay on node B, and `live close`, `access revoke` and `device remove`
 * issued on B reach the stream or tunnel that A carries. A node killed without a word loses
 * its devices on the other node within 20 s.
 */

const ACME = { account: "acme", user: "alice" };
const BOB = { account: "acme", user: "bob" };
const SCHEMA = `fernlink_e2e_${Math.random().toString(16).slice(2, 12)}`;
const DB = `${POSTGRES_URL}?schema=${SCHEMA}`;
/** A cut issued on one node must reach a stream on the other within this. */
const CUT_WITHIN_MS = 1_000;

let sb: Sandbox;
let echo: Target;
let a: Site;
let b: Site;
const agents = new Map<string, Proc>();

before(async () => {
  sb = await Sandbox.create("cluster-presence");
  sb.defer(() => dropSchema(SCHEMA));
  echo = await startEchoServer();
  sb.defer(echo.close);
  ({ a, b } = await startTwoNodes(sb, DB, ACME, { a: ["--relay-name", "a-relay"], b: ["--relay-name", "b-relay"] }));
  for (const name of ["press-7", "mill-3"]) agents.set(name, await a.startAgent(await a.register(await a.addDevice("alice", name), `agent-${name}`)));
  await memberWithRule({ a, b }, "alice", BOB, "press-7");
});

after(() => sb?.cleanup());

/** A forward through node A with one echoed line on it; resolves the time it closes. */
async function openStream(user: string): Promise<{ closed: Promise<number>; stop: () => Promise<unknown> }> {
  const conn = await a.connect(user, "press-7", [`127.0.0.1:${echo.port}`]);
  const socket = net.connect({ host: "127.0.0.1", port: conn.forwards[0]! });
  socket.on("error", () => {});
  socket.setEncoding("utf8");
  socket.write("still there?\n");
  assert.deepEqual(await once(socket, "data"), ["still there?\n"]);
  return { closed: once(socket, "close").then(() => Date.now()), stop: () => conn.proc.stop() };
}

/**
 * Sends one API request as `user` straight from the test, so that a measured cut does not
 * include starting a CLI process; resolves when the request was sent and when it answered.
 */
async function api(site: Site, user: string, method: string, path: string): Promise<{ sentAt: number; status: number; body: string }> {
  const { token } = JSON.parse(await readFile(join(site.home(user), "session.json"), "utf8")) as { token: string };
  const ca = await readFile(site.ca, "utf8");
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, site.url), { method, ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ sentAt, status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    const sentAt = Date.now();
    req.end();
  });
}

async function audited(site: Site, what: (r: AuditJson) => boolean): Promise<AuditJson> {
  return waitUntil("the action is audited", async () => (await site.audit("alice")).find(what), 10_000);
}

async function within(t: TestContext, closed: Promise<number>, since: number, what: string): Promise<void> {
  const cutAt = await Promise.race([
    closed,
    new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`${what}: the stream on node A was not cut`)), 10_000)),
  ]);
  t.diagnostic(`${what}: stream on node A cut ${cutAt - since} ms after the request to node B was sent`);
  assert.ok(cutAt - since < CUT_WITHIN_MS, `${what}: cut ${cutAt - since} ms after the request to node B was sent`);
}

test("a device registered through node A reads online on node B, with the same relay", async () => {
  const onA = await a.waitForDevice("alice", "press-7", true);
  const onB = await b.waitForDevice("alice", "press-7", true);
  assert.equal(onB.relay, onA.relay);
  const address = (d: object): unknown => (d as { address?: string }).address;
  assert.equal(address(onB), address(onA));
  const answer = await api(b, "alice", "GET", "/api/v1/status");
  assert.equal(answer.status, 200);
  const status = JSON.parse(answer.body) as { relays: { id: string; tunnels: number }[]; agents: number };
  assert.equal(status.agents, 2);
  // The service spreads agents over the nodes' relays by load (ties by name): one each.
  assert.equal(onA.relay, "a-relay");
  assert.equal((await b.waitForDevice("alice", "mill-3", true)).relay, "b-relay");
  assert.deepEqual(
    status.relays.map((r) => r.tunnels),
    [1, 1],
    "status on B lists both nodes' relays with their tunnels",
  );
});

test("a stream carried by node A is listed with its bytes by live on node B", async (t) => {
  const stream = await openStream("alice");
  const startedAt = Date.now();
  const listed = await waitUntil(
    "B lists A's stream",
    async () =>
      (JSON.parse(await b.ok("alice", ["live", "--json"])) as { streams: { id: string; user: string; device: string; bytesUp: number }[] }).streams.find(
        (s) => s.device === "press-7" && s.bytesUp > 0,
      ),
    10_000,
    250,
  );
  t.diagnostic(`listed on node B ${Date.now() - startedAt} ms after the stream opened on node A`);
  assert.equal(listed.user, "alice");
  await stream.stop();
  await waitUntil(
    "B no longer lists it",
    async () =>
      (JSON.parse(await b.ok("alice", ["live", "--json"])) as { streams: { id: string }[] }).streams.some((s) => s.id === listed.id) ? undefined : true,
    10_000,
    250,
  );
});

test("live close issued on node B cuts the stream carried by node A within 1 s", async (t) => {
  const stream = await openStream("alice");
  const live = JSON.parse(await a.ok("alice", ["live", "--json"])) as { streams: { id: string }[] };
  const id = live.streams[0]!.id;
  const { sentAt, status } = await api(b, "alice", "DELETE", `/api/v1/live/streams/${id}`);
  assert.equal(status, 200);
  await within(t, stream.closed, sentAt, "live close");
  const record = await audited(b, (r) => r.action === "stream.close");
  assert.equal(record.result, "ok");
  assert.equal(record.device, "press-7");
  assert.match(record.reason ?? "", /stream of user "alice"/);
  assertExit(await b.cli("alice", ["live", "close", id]), 1, /no live stream/);
  await stream.stop();
});

test("access revoke issued on node B cuts a member's stream on node A within 1 s", async (t) => {
  const stream = await openStream("bob");
  const { sentAt, status } = await api(b, "alice", "DELETE", "/api/v1/access-rules/service-team/line-3");
  assert.equal(status, 200);
  await within(t, stream.closed, sentAt, "access revoke");
  await audited(b, (r) => r.action === "access.revoke");
  await stream.stop();
});

test("device remove issued on node B closes node A's tunnel", async (t) => {
  const agent = agents.get("press-7")!;
  const before = agent.stderr.length;
  await b.ok("alice", ["device", "remove", "press-7"]);
  const removedAt = Date.parse((await audited(b, (r) => r.action === "device.remove")).at);
  await waitUntil(
    "node A closes the tunnel",
    async () =>
      (JSON.parse(await a.ok("alice", ["live", "--json"])) as { tunnels: { device: string }[] }).tunnels.some((x) => x.device === "press-7") ? undefined : true,
    5_000,
  );
  t.diagnostic(`device remove: A's tunnel gone ${Date.now() - removedAt} ms after node B recorded it (upper bound, polled)`);
  assert.notEqual(agent.stderr.length, before, "the agent saw its tunnel end");
});

test("node A killed with SIGKILL together with its device's agent: node B shows the device offline within 20 s", async (t) => {
  // The emptier relay is A's again: a third device goes there.
  const lathe = await a.startAgent(await a.register(await a.addDevice("alice", "lathe-1"), "agent-lathe-1"));
  assert.equal((await b.waitForDevice("alice", "lathe-1", true)).relay, "a-relay");
  const killedAt = Date.now();
  // Both at once: the agent would otherwise move to B's relay (see relay-tier.test.ts).
  await Promise.all([a.server.stop("SIGKILL"), lathe.stop("SIGKILL")]);
  await b.waitForDevice("alice", "lathe-1", false, 20_000);
  t.diagnostic(`offline on node B ${Date.now() - killedAt} ms after node A was killed`);
  assert.equal((await b.waitForDevice("alice", "mill-3", true)).relay, "b-relay", "B's own device stays online");
  await b.server.stop();
});
