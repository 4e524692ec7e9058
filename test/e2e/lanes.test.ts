import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { type Connection, Site } from "./helpers/fernlink.js";
import { assertExit, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Lanes (src/protocol/lane.ts) through real processes: a stream opens on the shared HTTP/2
 * connections and, once it carried 1 MiB, moves to a TLS connection of its own on each hop
 * (client → server, agent → server). Seen from outside: the TCP connections each process holds
 * to the server's port (`ss`, the kernel's own list), the bytes that come back, the audit, and
 * the agent's log. Cuts (an admin's, a device removed) must end a moved stream with its lanes.
 */

const ACME = { account: "acme", user: "alice" };
const MiB = 1024 * 1024;

let sb: Sandbox;
let site: Site;
let echo: Target;
let agent: Proc;
let conn: Connection;

before(async () => {
  sb = await Sandbox.create("lanes");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  const state = await site.register(await site.addDevice("alice", "press-7"), "agent");
  agent = await site.startAgent(state);
  conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
});

after(() => sb?.cleanup());

/** Established TCP connections from process `pid` to `port` (the server's), as the kernel lists them. */
async function toServer(pid: number | undefined, port = site.port): Promise<number> {
  const { stdout } = await promisify(execFile)("ss", ["-tnpH", "state", "established", "dst", `127.0.0.1:${port}`]);
  return stdout.split("\n").filter((line) => line.includes(`pid=${pid},`)).length;
}

/** What each side holds to the server's port: [client, agent]. */
async function held(): Promise<[number, number]> {
  return [await toServer(conn.proc.child.pid), await toServer(agent.child.pid)];
}

/** An echo stream through the forward: send what you like, read back what came, as it comes. */
async function openEcho(port = conn.forwards[0]!): Promise<{ socket: net.Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = net.connect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise((resolve) => socket.once("connect", resolve));
  return { socket, received: () => Buffer.concat(chunks), closed };
}

async function echoed(stream: Awaited<ReturnType<typeof openEcho>>, bytes: number): Promise<void> {
  await waitUntil(`${bytes} bytes echoed`, async () => stream.received().length >= bytes || undefined, 20_000, 20);
}

const sha = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

test("a stream under 1 MiB stays on the shared connections", async () => {
  const stream = await openEcho();
  const data = randomBytes(200 * 1024);
  stream.socket.write(data);
  await echoed(stream, data.length);
  assert.deepEqual(await held(), [1, 1], "client and agent each hold one connection to the server");
  stream.socket.end();
  await stream.closed;
  assert.equal(sha(stream.received()), sha(data));
});

test("a stream past 1 MiB moves to a connection of its own on both hops, every byte in order", async () => {
  const stream = await openEcho();
  const first = randomBytes(3 * MiB);
  stream.socket.write(first);
  await echoed(stream, first.length);
  // Both hops moved: client and agent each hold their shared connection and the stream's lane.
  await waitUntil("both lanes up", async () => ((await held()).join() === "2,2" ? true : undefined), 10_000, 50);
  const rest = randomBytes(5 * MiB + 123);
  stream.socket.end(rest);
  await stream.closed;
  assert.equal(sha(stream.received()), sha(Buffer.concat([first, rest])), "what came back is what was sent, in order");
  await waitUntil("the lanes closed with their stream", async () => ((await held()).join() === "1,1" ? true : undefined), 10_000, 50);
  const total = first.length + rest.length;
  const record = await waitUntil(
    "the stream's audit record",
    async () => (await site.audit("alice", 10)).find((r) => r.action === "stream" && r.endedAt && r.bytesUp === total),
    10_000,
    100,
  );
  assert.deepEqual([record.result, record.bytesUp, record.bytesDown], ["ok", total, total], "the audit counts the bytes of both carriers");
  assert.match(agent.stderr, new RegExp(`stream closed .*bytesIn=${total} bytesOut=${total} lane=true`), "the agent says the stream took its lane");
});

/** A TCP proxy to `port` that holds every chunk `oneWayMs` in each direction: a long round trip on loopback. */
async function delayProxy(port: number, oneWayMs: number): Promise<number> {
  const proxy = net.createServer((down) => {
    const up = net.connect({ host: "127.0.0.1", port });
    for (const [from, to] of [
      [down, up],
      [up, down],
    ] as const) {
      from.on("data", (chunk: Buffer) => setTimeout(() => to.write(chunk), oneWayMs));
      from.on("end", () => setTimeout(() => to.end(), oneWayMs));
      from.on("error", () => to.destroy());
      from.on("close", () => setTimeout(() => to.destroy(), oneWayMs));
    }
  });
  sb.defer(() => proxy.close());
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return (proxy.address() as net.AddressInfo).port;
}

test("a client whose hop to the server has a long round trip keeps its stream on the shared connection; the agent's short hop still moves", async () => {
  // 2 × 25 ms: past LANE_MAX_RTT_MS, where a new connection's handshakes and slow start cost more than a lane buys.
  const far = await delayProxy(site.port, 25);
  const home = sb.path("home-alice-far");
  const env = { ...site.env };
  assertExit(
    await sb.run(["login", "--server", `https://127.0.0.1:${far}`, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user], { home, env }),
    0,
  );
  const proc = sb.start(["connect", "press-7", "--forward", `0:127.0.0.1:${echo.port}`], { home, env });
  const forward = Number((await proc.waitForLine(/^forwarding 127\.0\.0\.1:(\d+) -> /))[1]);
  const stream = await openEcho(forward);
  const data = randomBytes(3 * MiB);
  stream.socket.write(data);
  await echoed(stream, data.length);
  await waitUntil("the agent's lane up", async () => ((await toServer(agent.child.pid)) === 2 ? true : undefined), 10_000, 50);
  assert.equal(await toServer(proc.child.pid, far), 1, "the far client holds its one shared connection, no lane");
  stream.socket.end();
  await stream.closed;
  assert.equal(sha(stream.received()), sha(data));
  await proc.stop();
});

test("an admin's cut ends a moved stream and its lanes at once", async () => {
  const stream = await openEcho();
  stream.socket.write(randomBytes(2 * MiB));
  await echoed(stream, 2 * MiB);
  await waitUntil("both lanes up", async () => ((await held()).join() === "2,2" ? true : undefined), 10_000, 50);
  const { streams } = (await site.apiOk("alice", "GET", "/api/v1/live/streams")) as { streams: { id: string }[] };
  assert.equal(streams.length, 1);
  const cutAt = Date.now();
  await site.apiOk("alice", "DELETE", `/api/v1/live/streams/${streams[0]!.id}`);
  await stream.closed;
  assert.ok(Date.now() - cutAt < 2_000, `the user's connection closed ${Date.now() - cutAt} ms after the cut`);
  await waitUntil("the lanes closed", async () => ((await held()).join() === "1,1" ? true : undefined), 5_000, 50);
});

test("removing the device ends its moved stream at the server, even with the agent frozen", async () => {
  const stream = await openEcho();
  stream.socket.write(randomBytes(2 * MiB));
  await echoed(stream, 2 * MiB);
  await waitUntil("both lanes up", async () => ((await held()).join() === "2,2" ? true : undefined), 10_000, 50);
  // A stopped agent cannot close anything: the cut must come from the server alone.
  agent.child.kill("SIGSTOP");
  try {
    const removedAt = Date.now();
    await site.apiOk("alice", "DELETE", "/api/v1/devices/press-7");
    await stream.closed;
    assert.ok(Date.now() - removedAt < 2_000, `the user's connection closed ${Date.now() - removedAt} ms after the removal`);
  } finally {
    agent.child.kill("SIGCONT");
  }
});
