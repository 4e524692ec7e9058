import assert from "node:assert/strict";
import { after, before, type TestContext, test } from "node:test";
import { echoVia, Site } from "./helpers/fernlink.js";
import { type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Losing and regaining the tunnel: an agent that dies and comes back, and a server that is
 * restarted under a running agent (which must find its way back by itself). Each test has its
 * own device, agent and clients, so any one of them runs alone.
 */

const ACME = { account: "acme", user: "alice" };

let sb: Sandbox;
let site: Site;
let echo: Target;

before(async () => {
  sb = await Sandbox.create("reconnect");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
});

after(() => sb?.cleanup());

/** A device of its own for one test, with its agent online; the agent is stopped when the test ends. */
async function deviceOnline(t: TestContext, name: string): Promise<{ stateDir: string; agent: Proc }> {
  const stateDir = await site.register(await site.addDevice("alice", name), `agent-${name}`);
  const agent = await site.startAgent(stateDir);
  t.after(() => agent.stop());
  return { stateDir, agent };
}

/** Resolves once `agent` has logged a new tunnel since its log was `mark` characters long. */
function tunnelUpAgain(agent: Proc, mark: number, timeoutMs: number): Promise<true> {
  return waitUntil("the agent logs a new tunnel", async () => (/ agent: tunnel up /.test(agent.stderr.slice(mark)) ? true : undefined), timeoutMs);
}

test("an agent killed with SIGKILL reads as offline within a few seconds", async (t) => {
  const { agent } = await deviceOnline(t, "press-kill");
  await site.waitForDevice("alice", "press-kill", true);
  const killedAt = Date.now();
  await agent.stop("SIGKILL");
  // Timed by when the `device list` call started, so a slow CLI start on a busy machine does not count.
  let askedAt = 0;
  const d = await waitUntil("press-kill reads as offline", async () => {
    askedAt = Date.now();
    return (await site.devices("alice")).find((x) => x.name === "press-kill" && !x.online);
  });
  t.diagnostic(`offline seen by a device list started ${askedAt - killedAt} ms after the kill`);
  assert.ok(askedAt - killedAt < 3_000, `still online ${askedAt - killedAt} ms after the kill`);
  assert.ok(d.lastSeen && Date.parse(d.lastSeen) >= killedAt - 1_000, `lastSeen ${d.lastSeen} is about the time the tunnel ended`);
});

test("an agent started again brings the device back online and new streams work", async (t) => {
  const { stateDir, agent } = await deviceOnline(t, "press-again");
  await agent.stop("SIGKILL");
  await site.waitForDevice("alice", "press-again", false);
  const again = await site.startAgent(stateDir);
  t.after(() => again.stop());
  await site.waitForDevice("alice", "press-again", true);
  const conn = await site.connect("alice", "press-again", [`127.0.0.1:${echo.port}`]);
  t.after(() => conn.proc.stop());
  assert.equal(await echoVia(conn, "after the agent came back\n"), "after the agent came back\n");
});

test("after a server restart on the same port and data dir the agent reconnects by itself", { timeout: 60_000 }, async (t) => {
  const { agent } = await deviceOnline(t, "press-restart");
  const port = site.port;
  const mark = agent.stderr.length;
  await site.restartServer();
  assert.equal(site.port, port, "the server is back on its port");
  // The agent's backoff is capped at 30 s; a new tunnel in its log is the reconnection itself.
  await tunnelUpAgain(agent, mark, 30_000);
  assert.match(agent.stderr.slice(mark), / agent: tunnel lost /, "the agent saw its tunnel go with the server");
  assert.equal(agent.running, true, "the same agent process reconnected");
  await site.waitForDevice("alice", "press-restart", true);
});

test("connect clients started before and after a server restart both reach the target through it", { timeout: 60_000 }, async (t) => {
  const { agent } = await deviceOnline(t, "press-clients");
  const before = await site.connect("alice", "press-clients", [`127.0.0.1:${echo.port}`]);
  t.after(() => before.proc.stop());
  assert.equal(await echoVia(before, "old client, first server\n"), "old client, first server\n");
  const mark = agent.stderr.length;
  await site.restartServer();
  await tunnelUpAgain(agent, mark, 30_000);

  const fresh = await site.connect("alice", "press-clients", [`127.0.0.1:${echo.port}`]);
  t.after(() => fresh.proc.stop());
  assert.equal(await echoVia(fresh, "new client, restarted server\n"), "new client, restarted server\n");

  assert.equal(before.proc.running, true, "connect survived the restart");
  assert.equal(await echoVia(before, "old client, restarted server\n"), "old client, restarted server\n");
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
