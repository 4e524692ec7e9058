import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http2, { type ClientHttp2Session, type ServerHttp2Stream } from "node:http2";
import net, { type AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { after, before, describe, it } from "node:test";
import { joinStreams } from "./join-streams.js";
import { MovableStream } from "./movable-stream.js";
import { ResetBudget } from "./reset-budget.js";
import { STREAM_BUFFER_BYTES } from "./stream-buffer.js";
import { endsOf, openCancellable, respondWithTrailers } from "./stream-cancel.js";

/** Both ends of one CONNECT stream, each as a MovableStream, over a real HTTP/2 connection. */
interface Pair {
  opener: MovableStream;
  answerer: MovableStream;
}

/** A TCP connection on loopback: the lane between the two ends. */
async function laneSockets(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once("connection", resolve));
  const dialled = net.connect({ port: (server.address() as AddressInfo).port, host: "127.0.0.1", allowHalfOpen: true });
  const other = await accepted;
  server.close();
  return [dialled, other];
}

/** Reads `stream` to its end; resolves with the sha256 and length of what came. */
function drain(stream: Duplex): Promise<{ hash: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  return new Promise((resolve, reject) => {
    stream.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    stream.once("end", () => resolve({ hash: hash.digest("hex"), bytes }));
    stream.once("error", reject);
  });
}

/** Writes `data` in 64 KiB pieces with backpressure, calling `at(offset)` before each, then ends. */
async function send(stream: Duplex, data: Buffer, at: (offset: number) => void = () => {}): Promise<void> {
  for (let offset = 0; offset < data.length; offset += 65_536) {
    at(offset);
    if (!stream.write(data.subarray(offset, offset + 65_536))) await new Promise((resolve) => stream.once("drain", resolve));
  }
  stream.end();
}

const sha = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

describe("a stream that moves from HTTP/2 to its lane", () => {
  let server: http2.Http2Server;
  let session: ClientHttp2Session;
  let answered: ((stream: ServerHttp2Stream) => void) | undefined;

  before(async () => {
    server = http2.createServer();
    server.on("stream", (stream) => {
      respondWithTrailers(stream, { ":status": 200 });
      answered?.(stream);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(() => {
    session.destroy();
    server.close();
  });

  async function open(): Promise<Pair> {
    const answererStream = new Promise<ServerHttp2Stream>((resolve) => (answered = resolve));
    const stream = openCancellable(session, { ":method": "CONNECT", ":authority": "target:1" }, new ResetBudget());
    await new Promise((resolve) => stream.once("response", resolve));
    const theirs = await answererStream;
    return { opener: new MovableStream(stream, endsOf(stream)), answerer: new MovableStream(theirs, endsOf(theirs)) };
  }

  it("carries both directions whole when both sides move in the middle", async () => {
    const { opener, answerer } = await open();
    const [a, b] = await laneSockets();
    const up = randomBytes(3 * 1024 * 1024);
    const down = randomBytes(2 * 1024 * 1024 + 17);
    const gotUp = drain(answerer);
    const gotDown = drain(opener);
    await Promise.all([
      send(opener, up, (offset) => offset === 1024 * 1024 && opener.moveTo(a)),
      send(answerer, down, (offset) => offset === 512 * 1024 && answerer.moveTo(b)),
    ]);
    assert.deepEqual(await gotUp, { hash: sha(up), bytes: up.length });
    assert.deepEqual(await gotDown, { hash: sha(down), bytes: down.length });
    assert.equal(opener.moved && answerer.moved, true);
  });

  it("keeps a direction that ended before the move ended, and carries the other on the lane", async () => {
    const { opener, answerer } = await open();
    const [a, b] = await laneSockets();
    const down = randomBytes(1024 * 1024);
    const gotUp = drain(answerer);
    opener.end(Buffer.from("request"));
    assert.deepEqual(await gotUp, { hash: sha(Buffer.from("request")), bytes: 7 });
    const gotDown = drain(opener);
    opener.moveTo(a);
    await send(answerer, down, (offset) => offset === 256 * 1024 && answerer.moveTo(b));
    assert.deepEqual(await gotDown, { hash: sha(down), bytes: down.length });
    const closed = await Promise.all(
      [opener, answerer].map((s) => new Promise((resolve) => (s.closed ? resolve(true) : s.once("close", () => resolve(true))))),
    );
    assert.deepEqual(closed, [true, true]);
    assert.equal(opener.errored, null);
    assert.equal(answerer.errored, null);
  });

  it("ends a direction whose sender moved with nothing left to send", async () => {
    const { opener, answerer } = await open();
    const [a, b] = await laneSockets();
    opener.moveTo(a);
    answerer.write(Buffer.from("all of it on HTTP/2"));
    // The answerer moves with nothing left to send: its lane direction is empty, and ends at once.
    answerer.moveTo(b);
    answerer.end();
    drain(answerer).catch(() => {});
    // The lane's end is there before anything reads the opener.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const gotDown = drain(opener);
    opener.end();
    assert.deepEqual(await gotDown, { hash: sha(Buffer.from("all of it on HTTP/2")), bytes: 19 });
  });

  it("closes a lane that came after its stream ended as an empty one, not as a cut", async () => {
    const { opener, answerer } = await open();
    const [a, b] = await laneSockets();
    // Less than the stream window: the opener finishes sending while the answerer reads nothing.
    const up = randomBytes(30 * 1024);
    answerer.end();
    const gotDown = drain(opener);
    opener.end(up);
    await gotDown;
    await new Promise((resolve) => (opener.closed ? resolve(true) : opener.once("close", resolve)));
    // The answerer took the lane while its reader had not read everything; the opener's lane comes late.
    answerer.moveTo(b);
    opener.moveTo(a);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await drain(answerer), { hash: sha(up), bytes: up.length });
    await new Promise((resolve) => (b.closed ? resolve(true) : b.once("close", resolve)));
  });

  it("asks for its lane once, after the bytes the trigger names", async () => {
    const answererStream = new Promise<ServerHttp2Stream>((resolve) => (answered = resolve));
    const stream = openCancellable(session, { ":method": "CONNECT", ":authority": "target:1" }, new ResetBudget());
    await new Promise((resolve) => stream.once("response", resolve));
    let wanted = 0;
    const opener = new MovableStream(stream, endsOf(stream), { bytes: 100_000, wanted: () => wanted++ });
    const theirs = await answererStream;
    const answerer = new MovableStream(theirs, endsOf(theirs));
    const got = drain(answerer);
    opener.resume();
    opener.write(randomBytes(60_000));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(wanted, 0);
    await send(opener, randomBytes(200_000));
    await got;
    assert.equal(wanted, 1);
  });

  it("fails the stream when its lane is cut", async () => {
    const { opener, answerer } = await open();
    const [a, b] = await laneSockets();
    drain(answerer).catch(() => {});
    const failed = new Promise<Error>((resolve) => opener.once("error", resolve));
    opener.resume();
    opener.moveTo(a);
    answerer.moveTo(b);
    b.resetAndDestroy();
    const err = await failed;
    assert.match(String(err), /ECONNRESET|lane closed/);
  });

  it("a relay joining two moved streams holds at most its stream buffers when the far reader stops", async () => {
    // client ⇄ relay is one pair, relay ⇄ agent another; the relay joins its two ends, as stream-joiner does.
    const hop1 = await open();
    const hop2 = await open();
    const [clientLane, relayClientLane] = await laneSockets();
    const [relayAgentLane, agentLane] = await laneSockets();
    hop1.opener.moveTo(clientLane);
    hop1.answerer.moveTo(relayClientLane);
    hop2.opener.moveTo(relayAgentLane);
    hop2.answerer.moveTo(agentLane);
    joinStreams(hop1.answerer, hop2.opener);
    // The agent's target reads nothing; the client writes as long as it is let.
    hop2.answerer.pause();
    const chunk = randomBytes(64 * 1024);
    let accepted = 0;
    const cap = 64 * 1024 * 1024;
    const pump = (): void => {
      while (accepted < cap) {
        accepted += chunk.length;
        if (!hop1.opener.write(chunk)) return void hop1.opener.once("drain", pump);
      }
    };
    pump();
    // Settled once the client is held back; far past every buffer, nothing is holding it.
    let last = -1;
    while (last !== accepted && accepted < cap) {
      last = accepted;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.ok(accepted < cap, `the client wrote ${accepted} bytes into a stream whose reader stopped: nothing held it back`);
    const held = hop1.answerer.readableLength + relayClientLane.readableLength + hop2.opener.writableLength + relayAgentLane.writableLength;
    assert.ok(held >= STREAM_BUFFER_BYTES, `the relay held only ${held} bytes: the stream never filled its buffers`);
    const limit = 3 * STREAM_BUFFER_BYTES + 2 * chunk.length;
    assert.ok(held <= limit, `the relay held ${held} bytes of a stream whose reader stopped (limit ${limit})`);
    for (const s of [hop1.opener, hop1.answerer, hop2.opener, hop2.answerer]) s.destroy();
  });
});
