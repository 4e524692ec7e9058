import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import http2 from "node:http2";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { SseReader } from "../access/api/sse-test-kit.js";
import { createLogger } from "../shared/log.js";
import { type RunningServer, startServer } from "./server.js";

const PASSWORD = "correct horse battery staple";

describe("a server with open live event streams", () => {
  let dir: string;
  let server: RunningServer;
  let token: string;
  let closed = false;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fernlink-server-events-"));
    server = await startServer({
      dataDir: dir,
      listen: { host: "127.0.0.1", port: 0 },
      hostnames: ["localhost", "127.0.0.1"],
      init: { account: "acme", user: "alice", password: PASSWORD },
      log: createLogger("test", { level: "error" }),
    });
    const session = http2.connect(server.url, { ca: server.ca.certPem });
    const req = session.request({ ":method": "POST", ":path": "/api/v1/login", "content-type": "application/json" });
    req.end(JSON.stringify({ account: "acme", user: "alice", password: PASSWORD }));
    let body = "";
    for await (const chunk of req) body += String(chunk);
    session.close();
    token = (JSON.parse(body) as { token: string }).token;
  });
  after(async () => {
    if (!closed) await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("closes quickly and ends the streams, over HTTP/2 and HTTP/1.1", async () => {
    // HTTP/2, as browsers speak it.
    const session = http2.connect(server.url, { ca: server.ca.certPem });
    session.on("error", () => {});
    const h2 = session.request({ ":path": "/api/v1/events", authorization: `Bearer ${token}` });
    h2.on("error", () => {});
    const h2Headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => h2.once("response", resolve));
    assert.equal(h2Headers[":status"], 200);
    assert.match(String(h2Headers["content-type"]), /^text\/event-stream/);
    const h2Events = new SseReader(h2);
    assert.deepEqual(await h2Events.next(), { retry: 5000 });

    // HTTP/1.1, as curl speaks it.
    const h1 = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      const req = https.get(`${server.url}/api/v1/events`, { ca: server.ca.certPem, headers: { authorization: `Bearer ${token}` } }, resolve);
      req.on("error", reject);
    });
    h1.on("error", () => {});
    assert.equal(h1.statusCode, 200);
    const h1Events = new SseReader(Readable.from(h1));
    assert.deepEqual(await h1Events.next(), { retry: 5000 });
    assert.equal(server.ctx.changes.size(), 2);

    const started = Date.now();
    await server.close();
    closed = true;
    assert.ok(Date.now() - started < 2_000, `close took ${Date.now() - started} ms`);
    await h2Events.ended(1_000);
    await h1Events.ended(1_000);
    assert.equal(server.ctx.changes.size(), 0);
    session.destroy();
  });
});
