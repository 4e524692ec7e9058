import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { duplexPair } from "./duplex-pair.js";

/** Reads to the end without destroying the stream (as `for await` would). */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  await once(stream, "end");
  return Buffer.concat(chunks);
}

test("what one end writes the other reads, in order, with end-of-stream", async () => {
  const [a, b] = duplexPair();
  const payload = Buffer.alloc(5 * 1024 * 1024, 7);
  a.end(payload);
  assert.deepEqual(await readAll(b), payload);
});

test("half-close leaves the other direction open", async () => {
  const [a, b] = duplexPair();
  a.end("question");
  assert.equal((await readAll(b)).toString(), "question");
  b.end("answer");
  assert.equal((await readAll(a)).toString(), "answer");
});

test("a writer waits while the reader does not read", async () => {
  const [a, b] = duplexPair();
  let ok = true;
  let writes = 0;
  while (ok && writes < 10_000) {
    ok = a.write(Buffer.alloc(16 * 1024));
    writes++;
  }
  assert.equal(ok, false, "write() reports backpressure");
  assert.ok(writes < 100, `backpressure after ${writes} writes`);
  const drained = once(a, "drain");
  b.resume();
  await drained;
});

test("both ends finish cleanly when both directions end, each keeping its unread bytes", async () => {
  const [a, b] = duplexPair();
  a.end("to b");
  b.end("to a");
  assert.equal((await readAll(a)).toString(), "to a");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal((await readAll(b)).toString(), "to b");
});

test("an end times out after the idle time with no bytes either way, and bytes restart the clock", async () => {
  const [a, b] = duplexPair();
  b.resume();
  // The idle timer does not hold the process open (like a socket's); this test must.
  const keepAlive = setInterval(() => {}, 1000);
  const started = Date.now();
  a.setTimeout(150);
  await new Promise((resolve) => setTimeout(resolve, 100));
  a.write("still here");
  await once(a, "timeout");
  assert.ok(Date.now() - started >= 240, "the write restarted the clock");
  a.setTimeout(0);
  a.destroy();
  clearInterval(keepAlive);
});

test("destroying one end closes the other", async () => {
  const [a, b] = duplexPair();
  const closed = once(b, "close");
  a.on("error", () => {});
  a.destroy(new Error("gone"));
  await closed;
  assert.equal(b.destroyed, true);
});
