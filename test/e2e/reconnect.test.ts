import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Site, type Connection } from "./helpers/fernlink.js";
import { Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { echoOnce, startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Losing and regaining the tunnel: an agent that dies and comes back, and a server that is
 * restarted under a running agent (which must find its way back by itself).
 */

const ACME = { account: "acme", user: "alice" };

let sb: Sandbox;
let site: Site;
let echo: Target;
let stateDir: string;
let agent: Proc;
let beforeRestart: Connection;

before(async () => {
  sb = await Sandbox.create("reconnect");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  stateDir = await site.register(await site.addDevice("alice", "press-7"), "agent");
});

after(() => sb?.cleanup());

test("an agent killed with SIGKILL reads as offline within a few seconds", async (t) => {
  const first = await site.startAgent(stateDir);
  const killedAt = Date.now();
  await first.stop("SIGKILL");
  // Timed by when the `device list` call started, so a slow CLI start on a busy machine does not count.
  let askedAt = 0;
  const d = await waitUntil("press-7 reads as offline", async () => {
    askedAt = Date.now();
    return (await site.devices("alice")).find((x) => x.name === "press-7" && !x.online);
  });
  t.diagnostic(`offline seen by a device list started ${askedAt - killedAt} ms after the kill`);
  assert.ok(askedAt - killedAt < 3_000, `still online ${askedAt - killedAt} ms after the kill`);
  assert.ok(d.lastSeen && Date.parse(d.lastSeen) >= killedAt - 1_000, `lastSeen ${d.lastSeen} is about the time the tunnel ended`);
});

test("an agent started again brings the device back online and new streams work", async () => {
  agent = await site.startAgent(stateDir);
  await site.waitForDevice("alice", "press-7", true);
  beforeRestart = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  assert.equal(await echoOnce(beforeRestart.forwards[0]!, "after the agent came back\n"), "after the agent came back\n");
});

test("after a server restart on the same port and data dir the agent reconnects by itself", { timeout: 60_000 }, async () => {
  const port = site.port;
  await site.restartServer();
  assert.equal(site.port, port, "the server is back on its port");
  const startedAt = Date.now();
  await site.waitForDevice("alice", "press-7", true, 30_000);
  assert.ok(Date.now() - startedAt < 30_000);
  assert.equal(agent.running, true, "the same agent process reconnected");
});

test("a connect client started after the server restart reaches the target", async () => {
  const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  assert.equal(await echoOnce(conn.forwards[0]!, "new client, restarted server\n"), "new client, restarted server\n");
  await conn.proc.stop();
});

test("a connect client started before the server restart opens new streams after it", async () => {
  assert.equal(beforeRestart.proc.running, true, "connect survived the restart");
  assert.equal(await echoOnce(beforeRestart.forwards[0]!, "old client, restarted server\n"), "old client, restarted server\n");
});

test("the server exits cleanly on SIGTERM even when it arrives right after the ready line", async () => {
  // A supervisor may stop the server as soon as it said it is ready; that must be a clean
  // shutdown (exit 0), not death by the default SIGTERM action. Several tries, since the
  // window between the ready line and the signal handler is short.
  const results = await Promise.all(
    [1, 2, 3, 4].map(async (i) => {
      const proc = sb.start(["server", "--data", sb.path(`quick-${i}`), "--listen", "127.0.0.1:0"], { home: sb.path("home-quick") });
      await proc.waitForLine(/^fernlink server ready: https:\/\/127\.0\.0\.1:\d+$/);
      return proc.stop("SIGTERM");
    }),
  );
  assert.deepEqual(
    results.map((r) => r.code ?? r.signal),
    [0, 0, 0, 0],
    "a SIGTERM right after the ready line killed the server before its signal handler was installed",
  );
});
