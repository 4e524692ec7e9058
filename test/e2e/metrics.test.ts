import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { assertExit, Sandbox, waitUntil } from "./helpers/processes.js";
import { closedPort, echoRoundTrip, sha256, startEchoServer, type Target } from "./helpers/targets.js";

const ACME = { account: "acme", user: "alice" };

let sb: Sandbox;
let site: Site;
let echo: Target;
let metricsUrl: string;

before(async () => {
  sb = await Sandbox.create("metrics");
  echo = await startEchoServer();
  sb.defer(echo.close);
  const port = await closedPort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  site = await Site.start(sb, [ACME], { serverArgs: ["--metrics-listen", `127.0.0.1:${port}`] });
  await site.login(ACME);
});

after(() => sb?.cleanup());

/** One sample's value from Prometheus' text format, 0 when the series is absent. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  return res.text();
}

test("the metrics address shows what a connect scenario moved: the agent, the streams, their bytes, setup time and the logins", async () => {
  const before = await scrape();
  assert.equal(sample(before, "fernlink_agents_connected"), 0);
  const agent = await site.startAgent(await site.register(await site.addDevice("alice", "press-7"), "agent-press-7"));
  const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  const payload = Buffer.alloc(10_000, 7);
  for (let i = 0; i < 3; i++) assert.equal(await echoRoundTrip(conn.forwards[0]!, payload), sha256(payload));
  // A target outside the device's LAN: refused by the rules, counted with its code.
  const refused = await site.cli("alice", ["connect", "press-7", "--stdio", "10.9.9.9:502"]);
  assert.equal(refused.code, 1);
  const wrong = await site.cli("mallory", ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user], {
    env: { FERNLINK_PASSWORD: "not the password at all" },
  });
  assert.equal(wrong.code, 1, wrong.stderr);

  const after = await waitUntil("the three streams ended and were counted", async () => {
    const text = await scrape();
    return sample(text, "fernlink_streams_open") === 0 && sample(text, 'fernlink_streams_opened_total{result="ok",code=""}') >= 3 ? text : undefined;
  });
  assert.equal(sample(after, "fernlink_agents_connected"), 1);
  assert.ok(sample(after, 'fernlink_streams_opened_total{result="refused",code="target-not-allowed"}') >= 1, after);
  assert.ok(sample(after, "fernlink_bytes_to_devices_total") >= 3 * payload.length);
  assert.ok(sample(after, "fernlink_bytes_from_devices_total") >= 3 * payload.length);
  assert.ok(sample(after, "fernlink_stream_setup_seconds_count") >= 3);
  assert.ok(sample(after, 'fernlink_audit_events_total{action="login",result="ok"}') >= 1, "the login of the site's admin");
  assert.ok(sample(after, 'fernlink_audit_events_total{action="login",result="denied"}') >= 1, "the login with a wrong password");
  assert.ok(sample(after, 'fernlink_store_query_seconds_count{statement="select"}') > 0, "the store's statements are timed");
  assert.ok(sample(after, 'fernlink_store_query_seconds_count{statement="insert"}') > 0, "the audit records written");
  assert.equal(sample(after, "fernlink_audit_write_failures_total"), 0);
  assert.match(after, /^fernlink_relay_info\{relay="node-[0-9a-f]{8}",region=""\} 1$/m, "the embedded relay names itself");
  assert.ok(sample(after, "nodejs_eventloop_lag_p99_seconds") > 0, "Node's own metrics, event-loop lag among them");
  await conn.proc.stop();
  await agent.stop();
});

test("the metrics address serves /metrics and the probes only, and the public port does not serve the metrics at all", async () => {
  assert.equal((await fetch(metricsUrl.replace("/metrics", "/"))).status, 404);
  const ca = await import("node:fs/promises").then((fs) => fs.readFile(site.ca, "utf8"));
  const https = await import("node:https");
  const status = await new Promise<number>((resolve, reject) =>
    https.get(new URL("/metrics", site.url), { ca }, (res) => resolve(res.statusCode ?? 0)).on("error", reject),
  );
  assert.notEqual(status, 200);
});

test("the metrics address answers the probes too: /healthz and /readyz with 200", async () => {
  for (const path of ["/healthz", "/readyz"]) {
    const res = await fetch(metricsUrl.replace("/metrics", path));
    assert.deepEqual([res.status, await res.text()], [200, "ok\n"], path);
  }
});

test("a relay's metrics address names the relay and answers /readyz with 200 while it is linked to an access node, 503 once the link is gone", async () => {
  const added = await site.cli("alice", ["relay", "add", "r1", "--region", "eu", "--data", site.dataDir]);
  assertExit(added, 0);
  const key = /^relay key: (\S+)$/m.exec(added.stdout)?.[1];
  assert.ok(key, added.stdout);
  const relayMetrics = `http://127.0.0.1:${await closedPort()}`;
  const relay = sb.start(
    [
      "relay",
      "run",
      "--access",
      site.url,
      "--ca",
      site.ca,
      "--state",
      sb.path("relay-r1"),
      "--listen",
      "127.0.0.1:0",
      "--region",
      "eu",
      "--metrics-listen",
      new URL(relayMetrics).host,
    ],
    { home: site.home("relay"), env: { FERNLINK_RELAY_KEY: key } },
  );
  await relay.waitForLine(/^fernlink relay ready: /);
  const status = async (path: string): Promise<number> => (await fetch(relayMetrics + path)).status;
  assert.equal(await status("/readyz"), 200);
  assert.equal(await status("/healthz"), 200);
  assert.match(await (await fetch(`${relayMetrics}/metrics`)).text(), /^fernlink_relay_info\{relay="r1",region="eu"\} 1$/m);
  // The access node gone, the relay cannot check an agent's certificate: not ready, but alive.
  await site.server.stop();
  await waitUntil("the relay's /readyz answers 503", async () => ((await status("/readyz")) === 503 ? true : undefined), 15_000);
  assert.equal(await status("/healthz"), 200);
  await relay.stop();
});
