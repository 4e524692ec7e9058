import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { dropSchema, POSTGRES_URL, sql } from "./helpers/database.js";
import { echoVia, Site } from "./helpers/fernlink.js";
import { assertExit, Sandbox } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Nodes of a cluster on one PostgreSQL schema share the CA, audit key and secret key through
 * the store, sealed with the cluster key the first node writes; a node without that key, or
 * with another, refuses to start.
 */

const ACME = { account: "acme", user: "alice" };
const SCHEMA = `fernlink_e2e_${randomBytes(5).toString("hex")}`;
const SINGLE = `fernlink_e2e_${randomBytes(5).toString("hex")}`;
const DB = `${POSTGRES_URL}?schema=${SCHEMA}`;

let sb: Sandbox;
let echo: Target;
let a: Site;

before(async () => {
  sb = await Sandbox.create("cluster-key");
  sb.defer(() => dropSchema(SCHEMA));
  sb.defer(() => dropSchema(SINGLE));
  echo = await startEchoServer();
  sb.defer(echo.close);
  a = await Site.start(sb, [ACME], { db: DB });
});

after(() => sb?.cleanup());

/** A data directory for another node, holding a copy of node A's cluster key when asked. */
async function nodeDir(name: string, key?: Buffer | "copy"): Promise<string> {
  const dir = sb.path(name);
  await mkdir(dir, { mode: 0o700 });
  if (key === "copy") await copyFile(join(a.dataDir, "cluster-key"), join(dir, "cluster-key"));
  else if (key !== undefined) await writeFile(join(dir, "cluster-key"), `${key.toString("hex")}\n`, { mode: 0o600 });
  return dir;
}

/** Points a registered agent at another access node, as a load balancer in front of the cluster would. */
async function moveAgent(state: string, url: string): Promise<void> {
  const file = join(state, "agent.json");
  const config = JSON.parse(await readFile(file, "utf8")) as { server: string };
  await writeFile(file, `${JSON.stringify({ ...config, server: url }, null, 2)}\n`, { mode: 0o600 });
}

test("the first node writes its cluster key, and a node with a copy serves the same CA and carries the first node's agent", async () => {
  assert.equal((await stat(join(a.dataDir, "cluster-key"))).mode & 0o777, 0o600);
  assert.ok(!(await readdir(a.dataDir)).includes("ca-key.pem"), "the CA key lives in the store, not in the data directory");
  await a.login(ACME);
  const state = await a.register(await a.addDevice("alice", "press-7"), "agent-7");

  await nodeDir("data-b", "copy");
  const b = await Site.start(sb, [], { db: DB, dataName: "data-b" });
  assert.equal(await readFile(b.ca, "utf8"), await readFile(a.ca, "utf8"));

  await moveAgent(state, b.url);
  await b.startAgent(state);
  await b.login(ACME);
  await b.waitForDevice("alice", "press-7", true);
  const conn = await b.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  assert.equal(await echoVia(conn, "through node b\n"), "through node b\n");
  await conn.proc.stop();
  await b.server.stop();
});

test("a node without the cluster key, or with another, refuses with one line naming the file to copy", async () => {
  const home = sb.path("home-refused");
  const server = (dir: string, env: Record<string, string> = {}) =>
    sb.run(["server", "--data", dir, "--listen", "127.0.0.1:0", "--db", DB], { home, env, timeoutMs: 20_000 });
  const source = join(a.dataDir, "cluster-key");

  const bare = await nodeDir("data-c");
  assertExit(await server(bare), 1, new RegExp(`^fernlink: .*${escapeRegExp(source)}.* to ${escapeRegExp(join(bare, "cluster-key"))}`));
  assert.deepEqual(await readdir(bare), [], "a refused start writes nothing");

  const other = await nodeDir("data-d", randomBytes(32));
  assertExit(
    await server(other),
    1,
    new RegExp(`^fernlink: ${escapeRegExp(join(other, "cluster-key"))} is another cluster key .*copy \\S+:${escapeRegExp(source)} `),
  );
  assert.deepEqual(await readdir(other), ["cluster-key"]);

  const named = join(await nodeDir("keys", randomBytes(32)), "cluster-key");
  assertExit(await server(await nodeDir("data-e"), { FERNLINK_CLUSTER_KEY: named }), 1, new RegExp(`^fernlink: ${escapeRegExp(named)} is another cluster key`));
});

test("a single-node PostgreSQL installation is moved into the store on first start and its agent keeps working", async () => {
  const db = `${POSTGRES_URL}?schema=${SINGLE}`;
  // Its keys were made as a single node makes them: files in the data directory.
  const made = sb.start(["server", "--data", sb.path("single"), "--listen", "127.0.0.1:0"], { home: sb.path("home-made") });
  await made.waitForLine(/^fernlink server ready: /);
  await made.stop();
  const single = await Site.start(sb, [ACME], { db, dataName: "single" });
  await single.login(ACME);
  const state = await single.register(await single.addDevice("alice", "drive-1"), "agent-single");
  await single.startAgent(state);
  await single.waitForDevice("alice", "drive-1", true);
  // What an installation from before the cluster keys looks like once migration 0007 made its
  // (empty) table: keys in DATA, none in the store.
  await single.server.stop();
  await sql(single, "delete from cluster_keys");
  const caBefore = await readFile(single.ca, "utf8");
  await rm(join(single.dataDir, "cluster-key"));

  await single.startServer(`127.0.0.1:${single.port}`);
  assert.equal((await stat(join(single.dataDir, "cluster-key"))).mode & 0o777, 0o600);
  assert.equal(await readFile(single.ca, "utf8"), caBefore);
  await single.waitForDevice("alice", "drive-1", true, 30_000);
  const conn = await single.connect("alice", "drive-1", [`127.0.0.1:${echo.port}`]);
  assert.equal(await echoVia(conn, "still here\n"), "still here\n");
  await conn.proc.stop();
  const verify = await single.cli("alice", ["audit", "verify", "--json"]);
  assertExit(verify, 0);
  assert.equal((JSON.parse(verify.stdout) as { ok: boolean }).ok, true);
  assert.equal((await sql(single, "select count(*) as n from cluster_keys")).rows[0]?.["n"], "5");
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
