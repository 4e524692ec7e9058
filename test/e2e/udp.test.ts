import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { dig as digShort, startDnsmasq } from "./helpers/dnsmasq.js";
import { type AuditJson, Site } from "./helpers/fernlink.js";
import { type Proc, Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * UDP through the tunnel with real processes: `fernlink connect --forward-udp` in front of a
 * private dnsmasq queried with dig, and in front of a UDP echo server (datagram boundaries,
 * one mapping per local source, idle expiry seen in the audit); the SOCKS5 proxy's UDP
 * ASSOCIATE driven by a small hand-written client, since curl has no UDP.
 */

const ACME = { account: "acme", user: "alice" };
const IDLE_S = 2;
const run = promisify(execFile);

async function udpSocket(): Promise<{ socket: UdpSocket; next: (timeoutMs?: number) => Promise<Buffer> }> {
  const socket = createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  const queue: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  socket.on("message", (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const next = (timeoutMs = 10_000): Promise<Buffer> => {
    const queued = queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no datagram within ${timeoutMs} ms`)), timeoutMs);
      waiters.push((b) => {
        clearTimeout(timer);
        resolve(b);
      });
    });
  };
  return { socket, next };
}

function dig(port: number, name: string): Promise<string> {
  return digShort(port, name, { seconds: 5 });
}

describe("UDP through the tunnel", { timeout: 180_000 }, () => {
  let sb: Sandbox;
  let site: Site;
  let connect: Proc;
  let echo: UdpSocket;
  const echoSources = new Set<string>();
  let dnsPort = 0;
  let echoPort = 0;
  let dnsLocal = 0;
  let echoLocal = 0;
  let socksPort = 0;

  before(async () => {
    sb = await Sandbox.create("udp");
    // The target side: dnsmasq answering for plc.example only, and a UDP echo.
    dnsPort = await startDnsmasq(sb);
    echo = createSocket("udp4");
    echo.on("message", (m, from) => {
      echoSources.add(`${from.address}:${from.port}`);
      echo.send(m, from.port, from.address);
    });
    echo.bind(0, "127.0.0.1");
    await once(echo, "listening");
    echoPort = echo.address().port;
    sb.defer(() => echo.close());

    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    await site.startAgent(await site.register(await site.addDevice("alice", "press-7", ["127.0.0.0/8"]), "agent"));
    connect = sb.start(
      ["connect", "press-7", "--forward-udp", `0:127.0.0.1:${dnsPort}`, "--forward-udp", `127.0.0.1:0:127.0.0.1:${echoPort}`, "--udp-idle", String(IDLE_S)],
      { home: site.home("alice") },
    );
    dnsLocal = Number((await connect.waitForLine(new RegExp(`^forwarding udp 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:${dnsPort} via press-7$`)))[1]);
    echoLocal = Number((await connect.waitForLine(new RegExp(`^forwarding udp 127\\.0\\.0\\.1:(\\d+) -> 127\\.0\\.0\\.1:${echoPort} via press-7$`)))[1]);
    // The SOCKS proxy in its own connect with the default 60 s idle: what ends its streams is the control connection.
    const socks = sb.start(["connect", "press-7", "--socks", "0"], { home: site.home("alice") });
    socksPort = Number((await socks.waitForLine(/^socks5 on 127\.0\.0\.1:(\d+) via press-7$/))[1]);
  });

  after(async () => {
    await sb?.cleanup();
  });

  test("dig gets dnsmasq's answer through --forward-udp, and the audit names the stream as UDP", async () => {
    assert.equal(await dig(dnsLocal, "plc.example"), "10.1.2.3");
    const { stdout } = await run("dig", ["@127.0.0.1", "-p", String(dnsLocal), "other.example", "A", "+tries=1", "+time=5"]);
    assert.match(stdout, /status: REFUSED|status: NXDOMAIN|status: SERVFAIL/, "dnsmasq itself answered the name it does not know");
    const opened = await waitUntil("the audit records the UDP stream", async () =>
      (await site.audit("alice")).find((r: AuditJson) => r.action === "stream.open" && r.target === `127.0.0.1:${dnsPort}/udp`),
    );
    assert.equal(opened.device, "press-7");
  });

  test("datagrams keep their boundaries: each size from 1 to 8,000 bytes comes back whole and in order", async () => {
    const { socket, next } = await udpSocket();
    const sizes = [1, 2, 7, 100, 512, 1400, 1472, 4000, 8000, 1];
    for (const [i, n] of sizes.entries()) socket.send(Buffer.alloc(n, i + 1), echoLocal, "127.0.0.1");
    for (const [i, n] of sizes.entries()) {
      const got = await next();
      assert.equal(got.length, n, `datagram ${i}`);
      assert.ok(
        got.every((b) => b === i + 1),
        `datagram ${i} holds its own bytes`,
      );
    }
    // A burst that a byte stream would run together.
    for (let i = 0; i < 40; i++) socket.send(Buffer.from(`burst-${i}`), echoLocal, "127.0.0.1");
    const burst = new Set<string>();
    for (let i = 0; i < 40; i++) burst.add((await next()).toString());
    assert.equal(burst.size, 40);
    assert.ok([...burst].every((s) => /^burst-\d+$/.test(s)));
    socket.close();
  });

  test(`each local source gets its own mapping, ended after ${IDLE_S} s without a datagram`, async () => {
    const before = (await site.audit("alice")).filter((r) => r.action === "stream" && r.target === `127.0.0.1:${echoPort}/udp` && r.endedAt).length;
    const a = await udpSocket();
    const b = await udpSocket();
    a.socket.send("from a", echoLocal, "127.0.0.1");
    b.socket.send("from b", echoLocal, "127.0.0.1");
    assert.equal((await a.next()).toString(), "from a");
    assert.equal((await b.next()).toString(), "from b");
    const sent = Date.now();
    const ended = await waitUntil(
      "both mappings end and are recorded",
      async () => {
        const rows = (await site.audit("alice")).filter((r) => r.action === "stream" && r.target === `127.0.0.1:${echoPort}/udp` && r.endedAt);
        return rows.length >= before + 2 ? rows : undefined;
      },
      IDLE_S * 1000 + 15_000,
      300,
    );
    const waited = Date.now() - sent;
    assert.ok(waited >= IDLE_S * 1000 - 200, `ended after ${waited} ms, not before the idle time`);
    const newest = ended.slice(0, 2);
    assert.ok(
      newest.every((r) => (r.bytesUp ?? 0) > 0 && (r.bytesDown ?? 0) > 0),
      "bytes each way are recorded",
    );
    // After expiry the same source simply gets a new mapping.
    a.socket.send("again", echoLocal, "127.0.0.1");
    assert.equal((await a.next()).toString(), "again");
    a.socket.close();
    b.socket.close();
  });

  test("SOCKS5 UDP ASSOCIATE relays datagrams to the target named in each header", async () => {
    const control = net.connect(socksPort, "127.0.0.1");
    await once(control, "connect");
    const read = async (n: number): Promise<Buffer> => {
      let buf = Buffer.alloc(0);
      while (buf.length < n) buf = Buffer.concat([buf, ((await once(control, "data")) as [Buffer])[0]]);
      return buf;
    };
    control.write(Buffer.from([5, 1, 0]));
    assert.deepEqual(await read(2), Buffer.from([5, 0]));
    control.write(Buffer.from([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
    const reply = await read(10);
    assert.deepEqual([...reply.subarray(0, 4)], [5, 0, 0, 1], "UDP ASSOCIATE succeeded with an IPv4 relay address");
    const relay = { host: [...reply.subarray(4, 8)].join("."), port: reply.readUInt16BE(8) };
    const { socket, next } = await udpSocket();
    const header = (port: number): Buffer => Buffer.from([0, 0, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff]);
    for (const payload of ["x", "y".repeat(1400)]) {
      socket.send(Buffer.concat([header(echoPort), Buffer.from(payload)]), relay.port, relay.host);
      const answer = await next();
      assert.deepEqual(answer.subarray(0, 10), header(echoPort), "the answer names the target it came from");
      assert.equal(answer.subarray(10).toString(), payload);
    }
    // A DNS query through the same association, to dnsmasq.
    const isDnsEnd = (r: AuditJson): boolean => r.action === "stream" && r.target === `127.0.0.1:${dnsPort}/udp` && r.endedAt !== null;
    const endedBefore = (await site.audit("alice")).filter(isDnsEnd).length;
    const query = Buffer.from("12340100000100000000000003706c63076578616d706c650000010001", "hex");
    socket.send(Buffer.concat([header(dnsPort), query]), relay.port, relay.host);
    const dns = await next();
    assert.deepEqual(dns.subarray(0, 10), header(dnsPort));
    assert.equal(dns.readUInt16BE(10), 0x1234, "dnsmasq's answer to our query id");
    assert.ok(dns.subarray(10).includes(Buffer.from([10, 1, 2, 3])), "with the address of plc.example");
    // The association ends with its control connection: the streams close and are recorded.
    control.destroy();
    await waitUntil("the association's stream to dnsmasq is recorded as ended, well before the 60 s idle", async () =>
      (await site.audit("alice")).filter(isDnsEnd).length > endedBefore ? true : undefined,
    );
    socket.close();
  });
});
