import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { type Connection, Site } from "./helpers/fernlink.js";
import { Sandbox, waitUntil } from "./helpers/processes.js";
import { download, echoRoundTrip, sha256, startDownloadServer, startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Many concurrent streams over one tunnel: guards the HTTP/2 flow-control windows, which
 * were seen to stall concurrent streams when chosen badly.
 */

const STREAMS = 100;
const SIZE = 1024 * 1024;
const ACME = { account: "acme", user: "alice" };

let sb: Sandbox;
let site: Site;
let echo: Target;
let source: Target;
let conn: Connection;

before(async () => {
  sb = await Sandbox.create("concurrency");
  echo = await startEchoServer();
  sb.defer(echo.close);
  source = await startDownloadServer(SIZE);
  sb.defer(source.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  const state = await site.register(await site.addDevice("alice", "press-7"), "agent");
  await site.startAgent(state);
  conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`, `127.0.0.1:${source.port}`]);
});

after(() => sb?.cleanup());

test(`${STREAMS} concurrent streams each echo 1 MiB of random data back unchanged`, { timeout: 60_000 }, async (t) => {
  const payloads = Array.from({ length: STREAMS }, () => randomBytes(SIZE));
  const started = Date.now();
  const results = await Promise.allSettled(payloads.map((p) => echoRoundTrip(conn.forwards[0]!, p)));
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`${STREAMS} × 1 MiB echoed in ${seconds.toFixed(1)} s`);
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`stream ${i}: ${String(r.reason)}`] : []));
  assert.deepEqual(failed, [], "every stream completes");
  for (const [i, r] of results.entries())
    assert.equal((r as PromiseFulfilledResult<string>).value, sha256(payloads[i]!), `stream ${i} returned different bytes`);
  assert.equal(conn.proc.running, true, "connect keeps running");
});

test(`${STREAMS} concurrent streams each download 1 MiB whose hash the target sent first`, { timeout: 60_000 }, async (t) => {
  const started = Date.now();
  const results = await Promise.allSettled(Array.from({ length: STREAMS }, () => download(conn.forwards[1]!)));
  t.diagnostic(`${STREAMS} × 1 MiB downloaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`stream ${i}: ${String(r.reason)}`] : []));
  assert.deepEqual(failed, [], "every stream completes");
  for (const [i, r] of results.entries()) {
    const { announced, actual, bytes } = (r as PromiseFulfilledResult<{ announced: string; actual: string; bytes: number }>).value;
    assert.equal(bytes, SIZE, `stream ${i} length`);
    assert.equal(actual, announced, `stream ${i} content`);
  }
});

test("the audit counts every byte of the concurrent streams", { timeout: 30_000 }, async () => {
  await conn.proc.stop("SIGTERM");
  const echoTarget = `127.0.0.1:${echo.port}`;
  const sourceTarget = `127.0.0.1:${source.port}`;
  const records = await waitUntil(
    "all stream records have ended",
    async () => {
      const streams = (await site.audit("alice", 1000)).filter((r) => r.action === "stream");
      return streams.length === 2 * STREAMS && streams.every((r) => r.endedAt) ? streams : undefined;
    },
    15_000,
    500,
  );
  const echoed = records.filter((r) => r.target === echoTarget);
  const downloaded = records.filter((r) => r.target === sourceTarget);
  assert.equal(echoed.length, STREAMS);
  assert.equal(downloaded.length, STREAMS);
  for (const r of echoed) assert.deepEqual([r.result, r.bytesUp, r.bytesDown], ["ok", SIZE, SIZE]);
  for (const r of downloaded) assert.deepEqual([r.result, r.bytesUp, r.bytesDown], ["ok", 0, SIZE + 32]);
});
