import assert from "node:assert/strict";
import dgram from "node:dgram";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, Sandbox, waitUntil } from "./helpers/processes.js";
import { startRelay } from "./helpers/relays.js";
import { ModbusClient, type ModbusSlave, startModbusSlave } from "./helpers/targets.js";

/**
 * A published port on a separate relay: an access node without a relay of its own
 * (`--no-relay`) and one `relay run --publish-ports` on another loopback address, holding the
 * device's tunnel. The relay listens for the job on its own --listen host (not the access
 * node's); a Modbus master reaches the slave through it, each connection opened through the
 * access node with the job owner's rights (listed, audited), which takes such a stream from no
 * one but a relay; the access node keeps the data log (--log-data) of the bytes it carries for
 * the relay, which admins download as for a port it listens on itself; a source outside the
 * whitelist is closed and counted; a UDP port carries datagrams both ways; pause closes the
 * relay's listener.
 */

const ACME = { account: "acme", user: "alice" };
/** A member of the account: no admin rights. */
const BOB = { account: "acme", user: "bob" };
/** The relay's host: its published ports listen here, apart from the access node on 127.0.0.1. */
const RELAY_HOST = "127.0.0.2";

interface PortJson {
  name: string;
  address: string;
  state: string;
  listening: boolean;
  accepted: number;
  refused: number;
  connections: { id: string; source: string; bytesUp: number; bytesDown: number }[];
}

let sb: Sandbox;
let site: Site;
let slave: ModbusSlave;
let port: number;
/** A second job's port, for UDP. */
let udpPort: number;
let udpEcho: dgram.Socket;
let range: string;

async function listPorts(): Promise<PortJson[]> {
  return (JSON.parse(await site.ok("alice", ["publish", "list", "--json"])) as { ports: PortJson[] }).ports;
}

/** Connects from `localAddress` and reports how the connection ended: refused, reset/closed without data, or open. */
function probe(localAddress: string): Promise<"refused" | "closed" | "open"> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: RELAY_HOST, port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("open");
    }, 1500);
    socket.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === "ECONNREFUSED" ? "refused" : "closed");
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve("closed");
    });
  });
}

before(async () => {
  sb = await Sandbox.create("relay-published-ports");
  slave = await startModbusSlave([200, 201, 202, 203]);
  sb.defer(slave.close);
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, RELAY_HOST, resolve));
  port = (free.address() as AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const freeUdp = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => freeUdp.bind(0, RELAY_HOST, resolve));
  udpPort = freeUdp.address().port;
  freeUdp.close();
  // The device's UDP service: answers each datagram with "echo:" and its payload.
  udpEcho = dgram.createSocket("udp4");
  udpEcho.on("message", (msg, from) => udpEcho.send(Buffer.concat([Buffer.from("echo:"), msg]), from.port, from.address));
  await new Promise<void>((resolve) => udpEcho.bind(0, "127.0.0.1", resolve));
  sb.defer(() => udpEcho.close());
  range = `${Math.min(port, udpPort)}-${Math.max(port, udpPort)}`;
  site = await Site.start(sb, [ACME], { serverArgs: ["--no-relay", "--publish-ports", range] });
  await site.login(ACME);
  await startRelay(site, { admin: "alice", name: "r1", args: ["--listen", `${RELAY_HOST}:0`, "--publish-ports", range] });
  const stateDir = await site.register(await site.addDevice("alice", "press-7", ["127.0.0.0/8"]), "agent-press-7");
  await site.startAgent(stateDir);
  const device = await site.waitForDevice("alice", "press-7", true);
  assert.equal(device.relay, "r1");
});

after(() => sb?.cleanup());

test("the relay holding the device listens on its own host, and a Modbus master reads the slave through it", async () => {
  const out = await site.ok("alice", [
    "publish",
    "press-7",
    "--port",
    String(port),
    "--target",
    `127.0.0.1:${slave.port}`,
    "--allow-from",
    "127.0.0.1/32",
    "--name",
    "plc",
    "--log-data",
  ]);
  assert.equal(out, `published ${RELAY_HOST}:${port} -> 127.0.0.1:${slave.port} via press-7\n`);
  const plc = await waitUntil("the relay listens", async () => (await listPorts()).find((p) => p.name === "plc" && p.listening), 10_000, 200);
  assert.equal(plc.address, `${RELAY_HOST}:${port}`);
  const client = new ModbusClient();
  await client.connectTCP(RELAY_HOST, { port });
  client.setID(1);
  client.setTimeout(5_000);
  try {
    assert.deepEqual((await client.readHoldingRegisters(0, 4)).data, [200, 201, 202, 203]);
    const [listed] = await listPorts();
    assert.equal(listed?.connections.length, 1, "the stream is listed on the access node under its job");
    assert.equal(listed?.connections[0]?.source, "127.0.0.1");
  } finally {
    if (client.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()));
  }
  const streams = (await site.audit("alice")).filter((r) => r.action === "stream" && r.target === `127.0.0.1:${slave.port}`);
  assert.equal(streams.length, 1, "the connection is one audited stream");
  assert.deepEqual([streams[0]?.actor, streams[0]?.result], ["alice", "ok"]);
});

test("an admin downloads the data log of the relay's port: the exact Modbus frames each way, and a member is refused", async () => {
  const log = await site.ok("alice", ["publish", "log", "plc"]);
  const lines = log.trimEnd().split("\n");
  assert.equal(lines[0], `# data log of plc (${RELAY_HOST}:${port} -> 127.0.0.1:${slave.port}): 29 bytes held, 0 older bytes dropped (cap 1048576 bytes)`);
  // Read holding registers: MBAP (transaction, protocol 0, length 6, unit 1), function 3, address 0, count 4.
  const up = / #1 up 12 ([0-9a-f]{4})00000006010300000004$/.exec(lines[1] ?? "");
  assert.ok(up, log);
  // Its answer, same transaction: length 11, unit 1, function 3, 8 bytes: 200, 201, 202, 203.
  assert.match(lines[2] ?? "", new RegExp(` #1 down 17 ${up[1]}0000000b01030800c800c900ca00cb$`), log);
  assert.equal(lines.length, 3, log);
  assertExit(await site.cli("alice", ["user", "add", BOB.user, "--role", "member"], { env: { FERNLINK_NEW_PASSWORD: PASSWORD } }), 0);
  await site.login(BOB);
  const refused = await site.api(BOB.user, "GET", "/api/v1/published-ports/plc/log");
  assert.deepEqual([refused.status, (refused.json as { error: { code: string } }).error.code], [403, "forbidden"]);
});

test("a source outside the whitelist is closed before any stream opens, and counted", async () => {
  assert.equal(await probe("127.0.0.3"), "closed");
  const plc = await waitUntil("the refusal counted", async () => (await listPorts()).find((p) => p.name === "plc" && p.refused === 1), 10_000, 200);
  assert.equal(plc.accepted, 1);
});

test("only a relay may open a published port's stream on the access node: a user's session is refused", async () => {
  const { token } = JSON.parse(await readFile(join(site.home("alice"), "session.json"), "utf8")) as { token: string };
  const h2 = http2.connect(site.url, { ca: await readFile(site.ca, "utf8") });
  h2.on("error", () => {});
  try {
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      const stream = h2.request({
        ":method": "CONNECT",
        ":authority": `127.0.0.1:${slave.port}`,
        "fernlink-publish-job": "any",
        "fernlink-publish-source": "127.0.0.1",
        authorization: `Bearer ${token}`,
      });
      stream.once("error", reject);
      stream.once("response", resolve);
    });
    assert.deepEqual([headers[":status"], headers["fernlink-error"]], [403, "forbidden"]);
  } finally {
    h2.destroy();
  }
});

test("a published UDP port on the relay carries datagrams both ways", async () => {
  await site.ok("alice", [
    "publish",
    "press-7",
    "--udp",
    "--port",
    String(udpPort),
    "--target",
    `127.0.0.1:${udpEcho.address().port}`,
    "--name",
    "udp",
    "--log-data",
  ]);
  await waitUntil("the relay listens for the UDP port", async () => (await listPorts()).find((p) => p.name === "udp" && p.listening), 10_000, 200);
  const client = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
  try {
    const answer = await waitUntil(
      "an answer through the relay",
      async () => {
        client.send("hello", udpPort, RELAY_HOST);
        const got = await Promise.race([once(client, "message"), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1_000))]);
        return got === undefined ? undefined : (got[0] as Buffer).toString();
      },
      10_000,
      0,
    );
    assert.equal(answer, "echo:hello");
  } finally {
    client.close();
  }
  // The log holds the datagrams' payloads, as for a UDP port the access node listens on itself.
  const lines = (await site.ok("alice", ["publish", "log", "udp"])).trimEnd().split("\n");
  assert.ok(
    lines.some((l) => l.endsWith(` #1 up 5 ${Buffer.from("hello").toString("hex")}`)),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => l.endsWith(` #1 down 10 ${Buffer.from("echo:hello").toString("hex")}`)),
    lines.join("\n"),
  );
});

test("pause closes the relay's listener", async () => {
  await site.ok("alice", ["publish", "pause", "plc"]);
  await waitUntil("the relay stops listening", async () => ((await probe("127.0.0.1")) === "refused" ? true : undefined), 10_000, 200);
});
