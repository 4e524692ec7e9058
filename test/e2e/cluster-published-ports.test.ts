import assert from "node:assert/strict";
import net, { type AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { startTwoNodes } from "./helpers/cluster.js";
import { dropSchema, POSTGRES_URL } from "./helpers/database.js";
import type { Site } from "./helpers/fernlink.js";
import { type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { echoOnce, startEchoServer, type Target } from "./helpers/targets.js";

/**
 * A published port follows its device in a cluster: two access nodes on one PostgreSQL schema
 * and one host, the device's tunnel on node A. The job made on node B listens on node A (B lets
 * go of the port), and when A stops and the agent moves to B, B listens.
 */

const ACME = { account: "acme", user: "alice" };
const SCHEMA = `fernlink_e2e_${Math.random().toString(16).slice(2, 12)}`;
const DB = `${POSTGRES_URL}?schema=${SCHEMA}`;

let sb: Sandbox;
let echo: Target;
let a: Site;
let b: Site;
let agent: Proc;
let port: number;

interface PortJson {
  name: string;
  listening: boolean;
}

before(async () => {
  sb = await Sandbox.create("cluster-published-ports");
  sb.defer(() => dropSchema(SCHEMA));
  echo = await startEchoServer();
  sb.defer(echo.close);
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
  port = (free.address() as AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const publish = ["--publish-ports", String(port)];
  ({ a, b } = await startTwoNodes(sb, DB, ACME, { a: ["--relay-name", "a-relay", ...publish], b: ["--relay-name", "b-relay", ...publish] }));
  agent = await a.startAgent(await a.register(await a.addDevice("alice", "press-7"), "agent-press-7"));
  sb.defer(() => agent.stop());
});

after(() => sb?.cleanup());

/** Whether the node's relay listens on the port, from GET /api/v1/published-ports (what `publish list --json` prints), polled without a CLI start. */
async function listening(site: Site): Promise<boolean> {
  const { ports } = (await site.apiOk("alice", "GET", "/api/v1/published-ports")) as { ports: PortJson[] };
  return ports[0]?.listening === true;
}

async function echoes(): Promise<true | undefined> {
  try {
    await echoOnce(port);
    return true;
  } catch {
    return undefined;
  }
}

test("a job made on node B listens on node A, where its device is", async () => {
  const out = await b.ok("alice", ["publish", "press-7", "--port", String(port), "--target", `127.0.0.1:${echo.port}`, "--name", "echo"]);
  assert.equal(out, `published 127.0.0.1:${port} -> 127.0.0.1:${echo.port} via press-7\n`);
  await waitUntil("node A listens and node B does not", async () => ((await listening(a)) && !(await listening(b)) ? true : undefined), 15_000, 100);
  await waitUntil("the port forwards", echoes, 10_000, 250);
});

test("when the device moves to node B, the port follows it", async () => {
  const stopped = await a.server.stop("SIGTERM");
  assert.equal(stopped.code, 0, stopped.stderr);
  await b.waitForDevice("alice", "press-7", true, 60_000);
  await waitUntil("node B listens", async () => ((await listening(b)) ? true : undefined), 15_000, 100);
  await waitUntil("the port forwards again", echoes, 10_000, 250);
});
