import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import https from "node:https";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { dropSchema, POSTGRES_URL } from "./helpers/database.js";
import { Site } from "./helpers/fernlink.js";
import { type HmiApp, startHmiApp } from "./helpers/hmi-app.js";
import { addWebTarget } from "./helpers/portal.js";
import { PASSWORD, type Proc, Sandbox } from "./helpers/processes.js";

/**
 * Two access nodes on one PostgreSQL schema behind one name: the portal on node A issues the
 * launch code of an HMI, and the browser's next request, the launch on the HMI host, lands on
 * node B, which redeems the code and serves the HMI through its own relay.
 */

const ACME = { account: "acme", user: "alice" };
const SCHEMA = `fernlink_e2e_${randomBytes(5).toString("hex")}`;

let sb: Sandbox;
let hmi: HmiApp;
let a: Site;
let b: Site;
let ca: string;

before(async () => {
  sb = await Sandbox.create("cluster-hmi");
  sb.defer(() => dropSchema(SCHEMA));
  hmi = await startHmiApp();
  sb.defer(hmi.close);
  a = await Site.start(sb, [ACME], { db: `${POSTGRES_URL}?schema=${SCHEMA}` });
  await mkdir(sb.path("data-b"), { mode: 0o700 });
  await copyFile(join(a.dataDir, "cluster-key"), sb.path("data-b", "cluster-key"));
  b = await Site.start(sb, [], { db: `${POSTGRES_URL}?schema=${SCHEMA}`, dataName: "data-b" });
  ca = await readFile(a.ca, "utf8");
});

after(() => sb?.cleanup());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request to `site` for host name `host` (SNI and Host), as a browser resolving that name to the site would send it. */
function request(site: Site, host: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: site.port,
        servername: host,
        ca,
        method: options.method ?? "GET",
        path,
        headers: { host: `${host}:${site.port}`, ...options.headers },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Points a registered agent at another access node, as a load balancer in front of the cluster would. */
async function moveAgent(state: string, url: string): Promise<void> {
  const file = join(state, "agent.json");
  const config = JSON.parse(await readFile(file, "utf8")) as { server: string };
  await writeFile(file, `${JSON.stringify({ ...config, server: url }, null, 2)}\n`, { mode: 0o600 });
}

test("a launch code issued by one node is redeemed on another, which serves the HMI, and only once", async () => {
  await a.login(ACME);
  await b.login(ACME);
  const state = await a.register(await a.addDevice("alice", "press-7"), "agent");
  let agent: Proc = await a.startAgent(state);
  await a.waitForDevice("alice", "press-7", true);
  const target = await addWebTarget(a, "alice", "press-7", "HMI", `${hmi.url}/hmi/`);
  const hmiHost = `w-${target.id}.localhost`;

  const login = await request(a, "localhost", "/api/v1/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...ACME, password: PASSWORD }),
  });
  assert.equal(login.status, 200, login.body);
  const token = (JSON.parse(login.body) as { token: string }).token;
  const open = await request(a, "localhost", `/web/open/${target.id}`, { headers: { cookie: `__Host-fernlink=${token}` } });
  assert.equal(open.status, 302, open.body);
  const launch = new URL(String(open.headers.location));
  assert.equal(launch.hostname, hmiHost);

  // The device moves to node B, whose relay then carries the HMI's streams.
  await agent.stop();
  await moveAgent(state, b.url);
  agent = await b.startAgent(state);
  await b.waitForDevice("alice", "press-7", true);

  const signedIn = await request(b, hmiHost, `${launch.pathname}${launch.search}`);
  assert.equal(signedIn.status, 302, signedIn.body);
  assert.equal(signedIn.headers.location, "/hmi/");
  const cookie = String(signedIn.headers["set-cookie"]?.[0] ?? "").split(";")[0]!;
  assert.match(cookie, /=.+/);

  const page = await request(b, hmiHost, "/hmi/", { headers: { cookie } });
  assert.equal(page.status, 200, page.body);
  assert.match(page.body, /\/static\/hmi\.js/);
  assert.ok(
    hmi.seen.requests.some((r) => r.url === "/hmi/"),
    "the page came from the HMI through node B",
  );

  for (const site of [a, b]) {
    const again = await request(site, hmiHost, `${launch.pathname}${launch.search}`);
    assert.equal(again.status, 401, "a launch code is used once in the whole cluster");
  }
  await agent.stop();
});
