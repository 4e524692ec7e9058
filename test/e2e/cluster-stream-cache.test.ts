import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import https from "node:https";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { memberWithRule, startTwoNodes } from "./helpers/cluster.js";
import { dropSchema, POSTGRES_URL } from "./helpers/database.js";
import { type RawStreamResult, rawStream, type Site } from "./helpers/fernlink.js";
import { Sandbox } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Node A answers a stream's access check from memory; a change made on node B of the same
 * PostgreSQL cluster reaches that memory before B's answer to the change is out. Each check
 * here opens a new stream on A right after B answered, without waiting or retrying: a revoked
 * rule refuses it, a new rule allows it, and a logout or token revoke on B refuses it.
 */

const ACME = { account: "acme", user: "alice" };
const BOB = { account: "acme", user: "bob" };
const SCHEMA = `fernlink_e2e_${Math.random().toString(16).slice(2, 12)}`;
const DB = `${POSTGRES_URL}?schema=${SCHEMA}`;
const RULE = "/api/v1/access-rules";

let sb: Sandbox;
let echo: Target;
let a: Site;
let b: Site;

before(async () => {
  sb = await Sandbox.create("cluster-stream-cache");
  sb.defer(() => dropSchema(SCHEMA));
  echo = await startEchoServer();
  sb.defer(echo.close);
  ({ a, b } = await startTwoNodes(sb, DB, ACME));
  await a.startAgent(await a.register(await a.addDevice("alice", "press-7"), "agent-press-7"));
  await memberWithRule({ a, b }, "alice", BOB, "press-7");
  await a.waitForDevice("alice", "press-7", true);
});

after(() => sb?.cleanup());

async function tokenOf(site: Site, home: string): Promise<string> {
  return (JSON.parse(await readFile(join(site.home(home), "session.json"), "utf8")) as { token: string }).token;
}

/** One API request to `site` with `token`, straight from the test; resolves with the status once answered. */
async function call(site: Site, token: string, method: string, path: string, body?: unknown): Promise<number> {
  const ca = await readFile(site.ca, "utf8");
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(payload ? { "content-type": "application/json" } : {}) };
    const req = https.request(new URL(path, site.url), { method, ca, headers }, (res) => {
      res.resume().on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

/** A new stream on node A as `home`: "allowed" when it echoed, else the relay's error code. */
async function streamOnA(home: string): Promise<string> {
  const r: RawStreamResult = await rawStream(a, home, "press-7", `127.0.0.1:${echo.port}`, "hello\n");
  if (r.status === 200) return r.echoed === "hello\n" ? "allowed" : `echoed ${JSON.stringify(r.echoed)}`;
  return r.error ?? `status ${r.status}`;
}

test("a rule revoked on node B refuses node A's next stream at once, and a rule granted on B allows the next one at once", async () => {
  const alice = await tokenOf(b, "alice");
  assert.equal(await streamOnA("bob"), "allowed");
  assert.equal(await streamOnA("bob"), "allowed", "the second stream is answered from A's cache");

  assert.equal(await call(b, alice, "DELETE", `${RULE}/service-team/line-3`), 200);
  assert.equal(await streamOnA("bob"), "not-found");
  assert.equal(await streamOnA("bob"), "not-found");

  assert.equal(await call(b, alice, "POST", RULE, { group: "service-team", pool: "line-3", level: "connect" }), 201);
  assert.equal(await streamOnA("bob"), "allowed");

  assert.equal(await call(b, alice, "POST", RULE, { group: "service-team", pool: "line-3", level: "view" }), 201);
  assert.equal(await streamOnA("bob"), "forbidden", "a rule replaced by a narrower one refuses at once");
  assert.equal(await call(b, alice, "POST", RULE, { group: "service-team", pool: "line-3", level: "connect" }), 201);
  assert.equal(await streamOnA("bob"), "allowed");
});

test("an API token revoked on node B refuses node A's next stream with it at once", async () => {
  const made = await b.ok("alice", ["token", "add", "ci-deploy", "--role", "admin"]);
  const token = /^api token: (flk_\S+)$/m.exec(made)?.[1];
  assert.ok(token, made);
  await mkdir(a.home("ci"), { recursive: true, mode: 0o700 });
  await writeFile(join(a.home("ci"), "session.json"), JSON.stringify({ server: a.url, ca: a.ca, account: "acme", user: "alice", token }), { mode: 0o600 });
  assert.equal(await streamOnA("ci"), "allowed");
  assert.equal(await streamOnA("ci"), "allowed");

  assert.equal(await call(b, await tokenOf(b, "alice"), "DELETE", "/api/v1/tokens/ci-deploy"), 200);
  assert.equal(await streamOnA("ci"), "unauthenticated");
});

test("a logout on node B refuses node A's next stream of that session at once", async () => {
  const bob = await tokenOf(a, "bob");
  assert.equal(await streamOnA("bob"), "allowed");
  assert.equal(await streamOnA("bob"), "allowed");

  assert.equal(await call(b, bob, "POST", "/api/v1/logout"), 200);
  assert.equal(await streamOnA("bob"), "unauthenticated");
});
