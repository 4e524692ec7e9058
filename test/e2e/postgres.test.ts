import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import pg from "pg";
import { echoVia, Site } from "./helpers/fernlink.js";
import { Sandbox } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * The same server on PostgreSQL: the store's schema and migrations are shared with SQLite,
 * and this runs the core path through real processes against a real PostgreSQL.
 */

const BASE = process.env["FERNLINK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA = `fernlink_e2e_${randomBytes(5).toString("hex")}`;
const ACME = { account: "acme", user: "alice" };

let sb: Sandbox;
let site: Site;
let echo: Target;

async function dropSchema(): Promise<void> {
  const client = new pg.Client({ connectionString: BASE });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${SCHEMA} cascade`);
  } finally {
    await client.end();
  }
}

before(async () => {
  sb = await Sandbox.create("postgres");
  sb.defer(dropSchema);
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME], { db: `${BASE}?schema=${SCHEMA}` });
});

after(() => sb?.cleanup());

test("on PostgreSQL a device registers, comes online, carries a stream and the stream is audited", async () => {
  await site.login(ACME);
  const state = await site.register(await site.addDevice("alice", "press-7"), "agent");
  await site.startAgent(state);
  await site.waitForDevice("alice", "press-7", true);
  const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  assert.equal(await echoVia(conn, "hello over postgres\n"), "hello over postgres\n");
  const record = await waitForClosedStream();
  assert.equal(record.bytesUp, "hello over postgres\n".length);
  assert.equal(record.bytesDown, "hello over postgres\n".length);
});

test("on PostgreSQL the data survives a server restart", async () => {
  await site.restartServer();
  await site.waitForDevice("alice", "press-7", true, 30_000);
  const actions = new Set((await site.audit("alice")).map((r) => r.action));
  for (const a of ["account.init", "login", "device.add", "device.register", "stream"]) assert.ok(actions.has(a), `audit has ${a}`);
});

async function waitForClosedStream() {
  for (let i = 0; i < 50; i++) {
    const r = (await site.audit("alice")).find((x) => x.action === "stream" && x.endedAt !== null);
    if (r) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("no closed stream in the audit");
}
