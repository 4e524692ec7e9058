import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import https from "node:https";
import { after, before, test } from "node:test";
import tls from "node:tls";
import { freePort } from "../../src/shared/free-ports-test-kit.js";
import { Site } from "./helpers/fernlink.js";
import { type Nginx, startNginx } from "./helpers/nginx.js";
import { type Proc, Sandbox } from "./helpers/processes.js";
import { type RelayProc, startRelay } from "./helpers/relays.js";
import { ModbusClient, type ModbusSlave, startModbusSlave } from "./helpers/targets.js";

/**
 * A relay of the relay tier behind nginx from Debian, which terminates TLS and passes HTTP/1.1
 * and WebSocket upgrades only: the relay is registered with nginx's URL as its public URL, so the
 * agent the service sends there and the access node forwarding a user's stream there both reach
 * it through the WebSocket transport, with their certificates checked inside. On the relay's own
 * port a connection on the agent's or the access nodes' ALPN without a certificate never reaches
 * the relay, and HTTP/1.1 gets nothing but the transport's upgrade.
 */

const ACME = { account: "acme", user: "alice" };

let sb: Sandbox;
let site: Site;
let nginx: Nginx;
let relay: RelayProc;
let relayPort: number;
let agent: Proc;
let slave: ModbusSlave;

/** Reads the slave's four holding registers through a `connect` forward. */
async function readThroughForward(port: number): Promise<number[]> {
  const client = new ModbusClient();
  await client.connectTCP("127.0.0.1", { port });
  client.setID(1);
  client.setTimeout(5_000);
  try {
    return (await client.readHoldingRegisters(0, 4)).data;
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}

/**
 * A TLS connection to the relay's own port without a client certificate: resolves with the bytes
 * the relay sent once the handshake was done, at the close (TLS 1.3: the client's handshake is
 * done before the server has read the client's certificate message, or its absence).
 */
function withoutCertificate(alpn: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port: relayPort, ca, ALPNProtocols: [alpn] });
    let secure = false;
    let received = 0;
    socket.once("secureConnect", () => (secure = true));
    socket.on("data", (d: Buffer) => (received += d.length));
    socket.on("error", () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the relay kept a ${alpn} connection without a certificate open for 5 s (${received} bytes sent)`));
    }, 5_000);
    socket.once("close", () => {
      clearTimeout(timer);
      if (!secure) reject(new Error(`the TLS handshake with ALPN ${alpn} did not finish`));
      else resolve(received);
    });
  });
}

/** Status of an HTTP/1.1 GET of `path` at `url`, trusting `ca`. */
function statusOf(url: string, path: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get(new URL(path, url), { ca, agent: false }, (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      })
      .once("error", reject);
  });
}

before(async () => {
  sb = await Sandbox.create("relay-websocket");
  relayPort = await freePort();
  [nginx, slave] = await Promise.all([startNginx({ port: await freePort(), upstreamPort: relayPort }), startModbusSlave([300, 301, 302, 303])]);
  sb.defer(nginx.stop);
  sb.defer(slave.close);
  // The machines trust nginx's (public) CA as every machine trusts public CAs: the access node too, which reaches the relay there.
  site = await Site.start(sb, [ACME], { serverArgs: ["--no-relay"], env: { NODE_EXTRA_CA_CERTS: nginx.caFile } });
  await site.login(ACME);
  relay = await startRelay(site, { admin: ACME.user, name: "r1", args: ["--listen", `127.0.0.1:${relayPort}`, "--public-url", nginx.url] });
  const state = await site.register(await site.addDevice(ACME.user, "press-7"), "agent-press-7");
  agent = await site.startAgent(state);
});

after(() => sb?.cleanup());

test("the relay announces nginx's URL, and the agent the service sends there gets in through the WebSocket transport", async () => {
  assert.equal(relay.url, nginx.url);
  assert.match(agent.stdout, new RegExp(`^fernlink agent online: device "press-7" via 127\\.0\\.0\\.1:${nginx.port}$`, "m"));
  assert.equal((await site.waitForDevice(ACME.user, "press-7", true)).relay, "r1");
});

// The access node knows the relay only by its public URL, nginx's: the stream can come no other way.
test("a client's stream reaches a Modbus slave through the access node, nginx and the relay", async () => {
  const conn = await site.connect(ACME.user, "press-7", [`127.0.0.1:${slave.port}`]);
  try {
    assert.deepEqual(await readThroughForward(conn.forwards[0]!), [300, 301, 302, 303]);
  } finally {
    await conn.proc.stop();
  }
});

test("on the relay's own port, the agent's and the access nodes' ALPN without a client certificate are closed before the relay hears of them", async () => {
  const ca = await readFile(site.ca, "utf8");
  const refusedBefore = relay.proc.stderr.split("agent refused").length;
  // Accepted, the relay would speak first on both: HTTP/2 SETTINGS (as the agent's client, or as an access node's server).
  assert.equal(await withoutCertificate("fernlink-agent/1", ca), 0);
  assert.equal(await withoutCertificate("h2", ca), 0);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(relay.proc.stderr.split("agent refused").length, refusedBefore, `the relay saw the agent connection:\n${relay.proc.stderr}`);
  const conn = await site.connect(ACME.user, "press-7", [`127.0.0.1:${slave.port}`]);
  try {
    assert.deepEqual(await readThroughForward(conn.forwards[0]!), [300, 301, 302, 303], "the device is still reached");
  } finally {
    await conn.proc.stop();
  }
});

test("an HTTP/1.1 request for any other path gets no service, on the relay's port and through nginx", async () => {
  const [ours, nginxCa] = await Promise.all([readFile(site.ca, "utf8"), readFile(nginx.caFile, "utf8")]);
  const direct = `https://127.0.0.1:${relayPort}`;
  for (const path of ["/", "/healthz", "/api/v1/devices", "/api/v1/transport"]) {
    assert.equal(await statusOf(direct, path, ours), 404, `GET ${path} on the relay's port`);
    assert.equal(await statusOf(nginx.url, path, nginxCa), 404, `GET ${path} through nginx`);
  }
});
