import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import { Site } from "./helpers/fernlink.js";
import { Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * Connections that never finish, through a real server: they are closed at the 10 s
 * handshake deadline while a login still works, one source cannot hold more than its share,
 * abandoned requests are logged in a few lines, and answers pin HTTPS.
 */

const ACME = { account: "acme", user: "alice" };
/** The per-source cap the server runs with here; the idle crowd below spreads over addresses to stay under it. */
const CAP = 50;
/** The first bytes of a TLS ClientHello record, then nothing more. */
const PARTIAL_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

/** Descriptors this test process may open (`ulimit -n`). */
function descriptorLimit(): number {
  const out = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  return out === "unlimited" ? Infinity : Number(out);
}

interface Idle {
  socket: net.Socket;
  closedAt: number | undefined;
}

describe("connections that never finish", () => {
  let sb: Sandbox;
  let site: Site;
  let ca: string;

  before(async () => {
    sb = await Sandbox.create("limits");
    site = await Site.start(sb, [ACME], { serverArgs: ["--max-unauthenticated-per-source", String(CAP)] });
    ca = await readFile(site.ca, "utf8");
  });
  after(async () => {
    await site.server.stop();
    await sb.cleanup();
  });

  function open(localAddress: string, hello: boolean): Idle {
    const idle: Idle = { socket: net.connect({ host: "127.0.0.1", port: site.port, localAddress }), closedAt: undefined };
    idle.socket.on("error", () => {});
    if (hello) idle.socket.once("connect", () => idle.socket.write(PARTIAL_HELLO));
    idle.socket.once("close", () => (idle.closedAt = Date.now()));
    return idle;
  }

  test("silent connections and half-sent ClientHellos are closed at the handshake deadline, and a login meanwhile works", async () => {
    // The test process needs a descriptor per connection, and room for its own.
    const total = Math.min(1000, descriptorLimit() - 200);
    assert.ok(total >= 400, `ulimit -n leaves room for only ${total} connections`);
    const hellos = 100;
    const start = Date.now();
    const crowd: Idle[] = [];
    for (let i = 0; i < total; i++) crowd.push(open(`127.0.0.${10 + Math.floor(i / (CAP - 10))}`, i < hellos));
    await waitUntil(
      "the crowd is connected",
      async () => (crowd.every((c) => c.socket.readyState === "open" || c.closedAt !== undefined) ? true : undefined),
      5000,
      50,
    );

    const health = await new Promise<number>((resolve, reject) => {
      const session = http2.connect(site.url, { ca });
      session.once("error", reject);
      // A reset arriving after the answer (the server stopping at the end) must not crash the test process.
      session.on("error", () => {});
      const stream = session.request({ ":path": "/api/v1/health" });
      stream.on("error", reject);
      stream.once("response", (headers) => {
        stream.resume();
        session.close();
        resolve(Number(headers[":status"]));
      });
    });
    assert.equal(health, 200);
    await site.login(ACME);
    assert.ok(Date.now() - start < 9000, "the login was done while the crowd was still open");
    assert.equal(crowd.filter((c) => c.closedAt !== undefined).length, 0, "no idle connection was closed before the deadline");

    await waitUntil(
      "every idle connection is closed",
      async () => (crowd.every((c) => c.closedAt !== undefined) ? true : undefined),
      15_000 - (Date.now() - start),
      100,
    );
    const last = Math.max(...crowd.map((c) => c.closedAt! - start));
    assert.ok(last < 15_000, `the last connection closed after ${last} ms`);
  });

  test("a source's connection past the limit is closed at once, while another address still connects", async () => {
    const held = Array.from({ length: CAP }, () => open("127.0.0.50", false));
    await waitUntil("the source holds its limit", async () => (held.every((c) => c.socket.readyState === "open") ? true : undefined), 5000, 20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const over = open("127.0.0.50", false);
    await waitUntil("the connection past the limit is closed", async () => over.closedAt, 1000, 10);
    assert.equal(held.filter((c) => c.closedAt !== undefined).length, 0);

    const other = tls.connect({
      socket: net.connect({ host: "127.0.0.1", port: site.port, localAddress: "127.0.0.51" }),
      ca,
      servername: "localhost",
      ALPNProtocols: ["h2"],
    });
    await new Promise<void>((resolve, reject) => other.once("secureConnect", resolve).once("error", reject));
    other.destroy();
    for (const c of held) c.socket.destroy();
  });

  test("a thousand abandoned request bodies on one connection leave a few one-line log entries and no stack trace", async () => {
    const session = http2.connect(site.url, { ca });
    session.on("error", () => {});
    for (let i = 0; i < 1000; i++) {
      const stream = session.request({ ":method": "POST", ":path": "/api/v1/login", "content-type": "application/json", "content-length": "100" });
      stream.on("error", () => {});
      stream.write('{"account":');
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    session.destroy();
    // On a busy machine the server may still be taking the requests in: wait for its first line.
    await waitUntil(
      "the server logs the abandoned requests",
      async () => (site.server.stderr.includes("request ended by the client") ? true : undefined),
      15_000,
      100,
    ).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const lines = site.server.stderr.split("\n");
    assert.equal(lines.filter((line) => /^\s+at /.test(line) || line.includes("\\n    at ")).length, 0, site.server.stderr.slice(0, 2000));
    const ended = lines.filter((line) => line.includes("request ended by the client"));
    assert.ok(ended.length >= 1 && ended.length <= 10, `${ended.length} lines about abandoned requests`);
    assert.ok(site.server.stderr.length < 20_000, `${site.server.stderr.length} bytes of log`);
  });

  test("portal and API answers pin HTTPS on the server's name, not on an address", async () => {
    const session = http2.connect(site.url, { ca });
    // Without a listener, a reset of the connection after the last answer (the server stopping in
    // after()) is an uncaught error that fails the whole file though every test passed.
    session.on("error", () => {});
    const hsts = async (path: string, authority: string): Promise<unknown> => {
      const stream = session.request({ ":path": path, ":authority": authority });
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => stream.once("response", resolve).once("error", reject));
      stream.on("error", () => {});
      stream.resume();
      return headers["strict-transport-security"];
    };
    try {
      assert.equal(await hsts("/api/v1/health", `fernlink.example:${site.port}`), "max-age=31536000");
      assert.equal(await hsts("/", `fernlink.example:${site.port}`), "max-age=31536000");
      assert.equal(await hsts("/api/v1/health", `127.0.0.1:${site.port}`), undefined);
    } finally {
      session.destroy();
    }
  });
});
