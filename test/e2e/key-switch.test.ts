import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type DeviceJson, echoVia, Site } from "./helpers/fernlink.js";
import { assertExit, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { echoOnce, startEchoServer, type Target } from "./helpers/targets.js";

/**
 * The machine owner's key switch, with real processes: the switch turned with `fernlink agent
 * switch` (the agent started without --switch reads DIR/switch), each turn's effect on open
 * and new streams and on the tunnel, how fast it counts, what the client, the device list and
 * the audit say. A change must count within 1 s; the bounds below add a margin for a busy
 * two-core machine, but stay well below the backoff and keep-alive times that would otherwise
 * explain an effect.
 */

const ACME = { account: "acme", user: "alice" };
const OFF_MESSAGE = "remote access is switched off on site";
/** 1 s for the switch, plus a margin for a loaded machine. */
const WITHIN_MS = 2_500;

interface DeviceWithSwitch extends DeviceJson {
  switch: "off" | "online" | "remote" | null;
  switchedAt: string | null;
}

let sb: Sandbox;
let site: Site;
let echo: Target;

before(async () => {
  sb = await Sandbox.create("key-switch");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
});

after(() => sb?.cleanup());

/**
 * Turns the switch with the CLI and returns when it turned: the switch file's modification
 * time (written, then renamed into place, within a millisecond or two), not the command's exit,
 * which the agent may well beat.
 */
async function turn(stateDir: string, position: string): Promise<number> {
  const out = await site.ok("agent", ["agent", "switch", position, "--state", stateDir]);
  assert.match(out, new RegExp(`set to ${position}$`, "m"));
  assert.equal(await readFile(join(stateDir, "switch"), "utf8"), `${position}\n`);
  return Math.floor((await stat(join(stateDir, "switch"))).mtimeMs);
}

/** A TCP connection through the forward that has carried one echo, and a promise of when it closes. */
async function openStream(port: number): Promise<{ socket: net.Socket; closed: Promise<number> }> {
  const socket = net.connect(port, "127.0.0.1");
  socket.setEncoding("utf8");
  socket.on("error", () => {});
  const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
  await new Promise<void>((resolve, reject) => {
    socket.once("data", (s: string) => (s === "hello\n" ? resolve() : reject(new Error(`echo said ${JSON.stringify(s)}`))));
    socket.write("hello\n");
  });
  return { socket, closed };
}

async function device(name: string): Promise<DeviceWithSwitch> {
  const found = (await site.devices("alice")).find((d) => d.name === name);
  assert.ok(found, `no device ${name}`);
  return found as DeviceWithSwitch;
}

/** Resolves with the time the agent's log first matches `pattern` after `mark` characters. */
function logged(agent: Proc, mark: number, pattern: RegExp, timeoutMs = 10_000): Promise<number> {
  return waitUntil(`the agent logs ${pattern}`, async () => (pattern.test(agent.stderr.slice(mark)) ? Date.now() : undefined), timeoutMs, 20);
}

test("each turn of the key switch counts within a second: streams closed and refused, the tunnel ended and back, listed and audited", {
  timeout: 120_000,
}, async (t) => {
  const stateDir = await site.register(await site.addDevice("alice", "press-key"), "agent-key");
  const agent = await site.startAgent(stateDir);
  t.after(() => agent.stop());
  const conn = await site.connect("alice", "press-key", [`127.0.0.1:${echo.port}`]);
  t.after(() => conn.proc.stop());
  const port = conn.forwards[0]!;
  assert.equal(await echoOnce(port, "before\n"), "before\n");

  // remote → online: the open stream is closed, the device stays online, new streams are refused.
  const open = await openStream(port);
  const toOnline = await turn(stateDir, "online");
  const closedAt = await open.closed;
  t.diagnostic(`online: open stream closed ${closedAt - toOnline} ms after the switch turned`);
  assert.ok(closedAt - toOnline < WITHIN_MS, `the open stream outlived the switch by ${closedAt - toOnline} ms`);
  const refused = await site.cli("alice", ["connect", "press-key", "--stdio", `127.0.0.1:${echo.port}`], { input: "" });
  assertExit(refused, 1, new RegExp(`^fernlink: ${OFF_MESSAGE}$`));
  const online = await waitUntil("the list shows the switch at online", async () => {
    const d = await device("press-key");
    return d.switch === "online" ? d : undefined;
  });
  assert.equal(online.online, true, "at online the device stays connected and visible");
  assert.match(await site.ok("alice", ["device", "list"]), /^press-key\s+online, remote access off\s/m);

  // online → remote: streams work again.
  const toRemote = await turn(stateDir, "remote");
  const worksAt = await waitUntil(
    "a stream works again",
    async () => ((await echoOnce(port, "again\n").catch(() => "")) === "again\n" ? Date.now() : undefined),
    10_000,
    50,
  );
  t.diagnostic(`remote: streams work ${worksAt - toRemote} ms after the switch turned`);
  assert.ok(worksAt - toRemote < WITHIN_MS, `streams refused ${worksAt - toRemote} ms after the switch turned to remote`);

  // remote → off: the open stream and the tunnel close, nothing is dialled while off.
  const second = await openStream(port);
  let mark = agent.stderr.length;
  const toOff = await turn(stateDir, "off");
  const secondClosedAt = await second.closed;
  const tunnelClosedAt = await logged(agent, mark, / agent: switched off on site: tunnel closed /);
  t.diagnostic(`off: stream closed after ${secondClosedAt - toOff} ms, tunnel closed after ${tunnelClosedAt - toOff} ms`);
  assert.ok(secondClosedAt - toOff < WITHIN_MS, `the open stream outlived off by ${secondClosedAt - toOff} ms`);
  assert.ok(tunnelClosedAt - toOff < WITHIN_MS, `the tunnel outlived off by ${tunnelClosedAt - toOff} ms`);
  const off = await waitUntil("the list shows the device offline and switched off", async () => {
    const d = await device("press-key");
    return !d.online && d.switch === "off" ? d : undefined;
  });
  assert.equal(off.state, "offline");
  assert.match(await site.ok("alice", ["device", "list"]), /^press-key\s+offline, switched off\s/m);
  const whileOff = await site.cli("alice", ["connect", "press-key", "--stdio", `127.0.0.1:${echo.port}`], { input: "" });
  assertExit(whileOff, 1, /^fernlink: device "press-key" is offline, switched off on site \(last seen /);
  // Longer than the shortest backoff: an agent that still tried would have logged it.
  await new Promise((r) => setTimeout(r, 2_000));
  const offLog = agent.stderr.slice(mark);
  assert.doesNotMatch(offLog, / agent: (tunnel up|cannot connect|reconnecting|cannot reach relay) /, `the agent dialled while off:\n${offLog}`);

  // off → remote: the tunnel comes back at once, not after a backoff.
  mark = agent.stderr.length;
  const backOn = await turn(stateDir, "remote");
  const upAt = await logged(agent, mark, / agent: tunnel up /);
  t.diagnostic(`remote again: tunnel up ${upAt - backOn} ms after the switch turned`);
  assert.ok(upAt - backOn < WITHIN_MS, `the tunnel came back ${upAt - backOn} ms after the switch turned to remote`);
  await site.waitForDevice("alice", "press-key", true);
  assert.equal(await echoOnce(port, "back\n"), "back\n");

  // Every turn is one audit record, in order, by the device's agent.
  const turns = await waitUntil("four switch records", async () => {
    const records = (await site.audit("alice")).filter((r) => r.action === "device.switch" && r.device === "press-key");
    return records.length >= 4 ? records : undefined;
  });
  assert.deepEqual(turns.map((r) => r.reason).reverse(), [
    "key switch remote -> online",
    "key switch online -> remote",
    "key switch remote -> off",
    "key switch off -> remote",
  ]);
  assert.ok(turns.every((r) => r.result === "ok" && r.actor === null));
  // The refusals are the agent's, audited with their code like any refused stream.
  const refusals = (await site.audit("alice")).filter((r) => r.device === "press-key" && r.result === "denied");
  assert.ok(
    refusals.some((r) => r.action === "stream" && r.reason === `remote-access-off: ${OFF_MESSAGE}`),
    `no denied stream record with the switch's refusal: ${JSON.stringify(refusals)}`,
  );
});

test("an agent started with the switch off dials nothing until it turns; a switch command is read without a shell", { timeout: 60_000 }, async (t) => {
  const stateDir = await site.register(await site.addDevice("alice", "press-cmd"), "agent-cmd");
  const file = sb.path("press-cmd-switch");
  await writeFile(file, "off\n");
  const agent = sb.start(["agent", "run", "--state", stateDir, "--switch", `command:cat ${file}`], { home: site.home("agent") });
  t.after(() => agent.stop());
  await logged(agent, 0, / agent: switched off on site: no connection/);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.doesNotMatch(agent.stderr, / agent: (tunnel up|cannot connect) /);
  assert.equal((await device("press-cmd")).online, false);

  await writeFile(file, "online\n");
  await agent.waitForLine(/^fernlink agent online: device "press-cmd"/);
  const refused = await site.cli("alice", ["connect", "press-cmd", "--stdio", `127.0.0.1:${echo.port}`], { input: "" });
  assertExit(refused, 1, new RegExp(`^fernlink: ${OFF_MESSAGE}$`));

  // A switch that cannot be read is off: the owner's switch is the authority.
  const mark = agent.stderr.length;
  await writeFile(file, "maybe\n");
  await logged(agent, mark, / agent: key switch unreadable: treated as off /);
  await site.waitForDevice("alice", "press-cmd", false);

  await writeFile(file, "remote\n");
  await site.waitForDevice("alice", "press-cmd", true);
  const conn = await site.connect("alice", "press-cmd", [`127.0.0.1:${echo.port}`]);
  t.after(() => conn.proc.stop());
  assert.equal(await echoVia(conn, "remote\n"), "remote\n");
});

test("agent switch refuses a position it does not know and a directory that is no agent's", async () => {
  const stateDir = await site.register(await site.addDevice("alice", "press-bad"), "agent-bad");
  assertExit(await site.cli("agent", ["agent", "switch", "on", "--state", stateDir]), 2, /^fernlink: switch position "on" must be off, online or remote$/);
  assertExit(await site.cli("agent", ["agent", "switch", "off", "--state", sb.path("nowhere")]), 2, /is not an agent's state directory/);
  assertExit(await site.cli("agent", ["agent", "run", "--state", stateDir, "--switch", "command:cat /x | sh"]), 2, /runs without a shell/);
});
