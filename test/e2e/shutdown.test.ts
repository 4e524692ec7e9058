import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { messageLines, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Stopping the server is orderly (open streams end in the audit with their bytes), and a
 * client whose server vanishes under an open stream says so instead of hanging.
 */

const ACME = { account: "acme", user: "alice" };
let sb: Sandbox;
let site: Site;
let echo: Target;
let state: string;

before(async () => {
  sb = await Sandbox.create("shutdown");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  state = await site.register(await site.addDevice("alice", "press-7"), "agent");
});

after(() => sb?.cleanup());

function openEcho(port: number, text: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    socket.once("data", () => resolve(socket));
    socket.once("error", reject);
  });
}

test("streams still open when the server stops are closed in the audit with their bytes", async () => {
  const agent = await site.startAgent(state);
  const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  const sockets = await Promise.all([1, 2, 3].map((i) => openEcho(conn.forwards[0]!, `open stream ${i}\n`)));
  const stopped = await site.server.stop("SIGTERM");
  assert.equal(stopped.code, 0, stopped.stderr);
  for (const s of sockets) s.destroy();
  await conn.proc.stop();

  await site.startServer(`127.0.0.1:${site.port}`);
  const audit = await site.audit("alice");
  const streams = audit.filter((r) => r.action === "stream" && r.result === "ok");
  assert.equal(streams.length, 3);
  for (const s of streams) {
    assert.ok(s.endedAt, "the stream has an end time");
    assert.equal(s.bytesUp, "open stream 1\n".length);
    assert.equal(s.bytesDown, "open stream 1\n".length);
  }
  assert.ok(
    audit.some((r) => r.action === "tunnel.down" && r.device === "press-7"),
    "the tunnel's end is recorded",
  );
  await agent.stop();
});

test("a client whose stream is open reports the server's death at once instead of hanging", async () => {
  const agent = await site.startAgent(state);
  const client = sb.start(["connect", "press-7", "--stdio", `127.0.0.1:${echo.port}`], { home: site.home("alice") });
  try {
    // The echo proves the client's tunnel is up and its stream carried; a frozen agent then
    // answers nothing more, so only the server's death can end the client.
    client.child.stdin!.write("hello\n");
    await client.waitForLine(/^hello$/);
    agent.child.kill("SIGSTOP");
    const killedAt = Date.now();
    await site.server.stop("SIGKILL");
    const exit = await client.exited;
    assert.ok(Date.now() - killedAt < 5_000, "the client gave up within seconds");
    assert.equal(exit.code, 1);
    const lines = messageLines(exit.stderr);
    assert.equal(lines.length, 1, exit.stderr);
    assert.match(lines[0]!, /^fernlink: lost the connection to https:\/\/127\.0\.0\.1:\d+/, "it says it lost the connection to the server");
  } finally {
    agent.child.kill("SIGCONT");
    await agent.stop();
    await client.stop();
    await site.startServer(`127.0.0.1:${site.port}`);
  }
  await waitUntil("the server answers again", async () => ((await site.devices("alice")).length > 0 ? true : undefined));
});
