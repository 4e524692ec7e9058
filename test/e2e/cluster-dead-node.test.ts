import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { startTwoNodes } from "./helpers/cluster.js";
import { dropSchema, POSTGRES_URL } from "./helpers/database.js";
import type { AuditJson, Site } from "./helpers/fernlink.js";
import { type Proc, Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * A cluster node killed with SIGKILL says nothing of the tunnels it held: the other node takes
 * them over once their rows go stale. A device whose agent cannot come back is marked offline
 * there, its `tunnel.down` audited once, and the offline rule's webhook is called by node B; a
 * device whose agent moved to node B's relay first is left alone.
 */

const ACME = { account: "acme", user: "alice" };
const SCHEMA = `fernlink_e2e_${Math.random().toString(16).slice(2, 12)}`;
const DB = `${POSTGRES_URL}?schema=${SCHEMA}`;
/** Rows go stale 15 s after their last heartbeat (at most 5 s before the kill), a sweep runs every 2 s, the rule waits 2 s. */
const NOTIFIED_WITHIN_MS = 35_000;

interface Hook {
  at: number;
  event: string;
  body: Record<string, unknown>;
}

let sb: Sandbox;
let a: Site;
let b: Site;
let press: Proc;
let mill: Proc;
const hooks: Hook[] = [];
let hookUrl = "";

async function startWebhookReceiver(): Promise<void> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      hooks.push({
        at: Date.now(),
        event: String(req.headers["x-fernlink-event"]),
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sb.defer(() => new Promise((resolve) => server.close(resolve)));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

/** A REST call with alice's session on `site`, without starting a CLI process. */
function api(site: Site, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  return site.api("alice", method, path, body);
}

before(async () => {
  sb = await Sandbox.create("cluster-dead-node");
  sb.defer(() => dropSchema(SCHEMA));
  await startWebhookReceiver();
  // Both agents prefer region east, node A's relay, and know node B's relay as the next one.
  ({ a, b } = await startTwoNodes(sb, DB, ACME, { a: ["--relay-name", "a-relay", "--region", "east"], b: ["--relay-name", "b-relay", "--region", "west"] }));
  const [pressState, millState] = await Promise.all([
    a.addDevice("alice", "press-7").then((key) => a.register(key, "agent-press-7")),
    a.addDevice("alice", "mill-3").then((key) => a.register(key, "agent-mill-3")),
  ]);
  [press, mill] = await Promise.all([a.startAgent(pressState, [], ["--region", "east"]), a.startAgent(millState, [], ["--region", "east"])]);
  const channel = await api(b, "POST", "/api/v1/notifications/channels", { kind: "webhook", name: "ops-hook", url: hookUrl });
  assert.equal(channel.status, 201);
  const rule = await api(b, "POST", "/api/v1/notifications/rules", { event: "device.offline", channel: "ops-hook", delaySeconds: 2 });
  assert.equal(rule.status, 201);
});

after(() => sb?.cleanup());

test("node A killed with SIGKILL: node B marks its device offline, audits tunnel.down once and sends the offline webhook", { timeout: 90_000 }, async (t) => {
  for (const name of ["press-7", "mill-3"]) assert.equal((await b.waitForDevice("alice", name, true)).relay, "a-relay");
  const killedAt = Date.now();
  // press-7's agent goes with its node; mill-3's moves to node B's relay.
  await Promise.all([a.server.stop("SIGKILL"), press.stop("SIGKILL")]);

  const hook = await waitUntil("the offline webhook", async () => hooks.find((h) => h.event === "device.offline"), NOTIFIED_WITHIN_MS, 100);
  t.diagnostic(`offline webhook ${hook.at - killedAt} ms after node A was killed`);
  assert.deepEqual([hook.body["event"], hook.body["device"]], ["device.offline", "press-7"]);

  const offline = await b.waitForDevice("alice", "press-7", false);
  assert.ok(offline.lastSeen !== null && Date.parse(offline.lastSeen) <= killedAt, `last seen ${offline.lastSeen}, before the kill`);
  assert.equal((await b.waitForDevice("alice", "mill-3", true)).relay, "b-relay", "mill-3 is back on node B's relay");

  const records = (await api(b, "GET", "/api/v1/audit?limit=200")).json as AuditJson[];
  const downs = (device: string): AuditJson[] => records.filter((r) => r.action === "tunnel.down" && r.device === device);
  assert.equal(downs("press-7").length, 1, JSON.stringify(downs("press-7")));
  assert.match(downs("press-7")[0]!.reason ?? "", /relay "a-relay" stopped renewing the tunnel/);
  assert.deepEqual(downs("mill-3"), [], "the device that came back first is not marked offline");
  assert.deepEqual(
    hooks.filter((h) => h.event === "device.offline").map((h) => h.body["device"]),
    ["press-7"],
  );
  await mill.stop();
});
