import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { datagramChannel, MAX_QUEUED_BYTES } from "./datagram-channel.js";
import { duplexPair } from "./duplex-pair.js";

describe("datagramChannel", () => {
  it("delivers datagrams with their boundaries, both ways", async () => {
    const [a, b] = duplexPair();
    const atB: Buffer[] = [];
    const atA: Buffer[] = [];
    const left = datagramChannel(a, { onDatagram: (d) => atA.push(d), onEnd: () => {} });
    const right = datagramChannel(b, { onDatagram: (d) => atB.push(d), onEnd: () => {} });
    const sizes = [1, 0, 1400, 7, 65_000];
    for (const n of sizes) assert.equal(left.send(Buffer.alloc(n, n & 0xff)), true);
    right.send(Buffer.from("pong"));
    await sleep(20);
    assert.deepEqual(
      atB.map((d) => d.length),
      sizes,
    );
    assert.ok(atB.every((d, i) => d.every((byte) => byte === (sizes[i]! & 0xff))));
    assert.deepEqual(atA, [Buffer.from("pong")]);
  });

  it("drops datagrams instead of queueing them behind a stalled stream", () => {
    const [a, b] = duplexPair();
    b.pause();
    const channel = datagramChannel(a, { onDatagram: () => {}, onEnd: () => {} });
    let sent = 0;
    for (let i = 0; i < 200; i++) if (channel.send(Buffer.alloc(1400))) sent++;
    assert.ok(sent < 200, "some were dropped");
    assert.equal(channel.dropped, 200 - sent);
    assert.ok(a.writableLength <= MAX_QUEUED_BYTES + 1500);
  });

  it("ends on the peer's end, once", async () => {
    const [a, b] = duplexPair();
    const ends: (Error | undefined)[] = [];
    datagramChannel(a, { onDatagram: () => {}, onEnd: (err) => ends.push(err) });
    b.end();
    await sleep(20);
    a.end();
    await sleep(20);
    assert.deepEqual(ends, [undefined]);
  });

  it("ends with an error on malformed capsules", async () => {
    const [a, b] = duplexPair();
    const ends: (Error | undefined)[] = [];
    datagramChannel(a, { onDatagram: () => {}, onEnd: (err) => ends.push(err) });
    b.write(Buffer.from("00bfffffff", "hex"));
    await sleep(20);
    assert.equal(ends.length, 1);
    assert.match(String(ends[0]), /capsule/);
  });

  it("reports idleness only after a quiet period, activity moving the deadline", async () => {
    const [a, b] = duplexPair();
    let idleAt = 0;
    const start = Date.now();
    const channel = datagramChannel(a, { onDatagram: () => {}, onEnd: () => {}, idleMs: 150, onIdle: () => (idleAt = Date.now()) });
    datagramChannel(b, { onDatagram: () => {}, onEnd: () => {} });
    await sleep(100);
    channel.send(Buffer.from("x"));
    await sleep(100);
    assert.equal(idleAt, 0, "not idle 100 ms after a datagram");
    await sleep(150);
    assert.ok(idleAt - start >= 240, `idle after ${idleAt - start} ms`);
  });
});
