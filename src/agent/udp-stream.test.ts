import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FernlinkError } from "../protocol/errors.js";
import { parseTargetEntry } from "../protocol/target-filter.js";
import { datagramChannel } from "../shared/datagram-channel.js";
import { duplexPair } from "../shared/duplex-pair.js";
import { Allowlist, parseAllowRule } from "./allowlist.js";
import { dialUdpTarget } from "./udp-dialer.js";
import { carryUdp, type UdpCounts } from "./udp-stream.js";

const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.close();
});

/** A UDP echo server on loopback that answers each datagram with the same bytes. */
async function echoServer(): Promise<number> {
  const server = createSocket("udp4");
  sockets.push(server);
  server.on("message", (msg, from) => server.send(msg, from.port, from.address));
  server.bind(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

const loopback = new Allowlist([parseAllowRule("127.0.0.0/8")]);

describe("agent UDP streams", () => {
  it("dials only targets the allowlist and the stream's rules let through", async () => {
    const port = await echoServer();
    const refused = (err: unknown): boolean => err instanceof FernlinkError && err.code === "target-not-allowed";
    await assert.rejects(dialUdpTarget({ host: "127.0.0.1", port }, new Allowlist([]), "press-1"), refused);
    await assert.rejects(dialUdpTarget({ host: "127.0.0.1", port }, loopback, "press-1", [parseTargetEntry(`127.0.0.1:${port + 1}`)]), refused);
    const socket = await dialUdpTarget({ host: "127.0.0.1", port }, loopback, "press-1", [parseTargetEntry(`127.0.0.1:${port}`)]);
    socket.close();
  });

  it("carries datagrams to the target and back with their boundaries", async () => {
    const port = await echoServer();
    const socket = await dialUdpTarget({ host: "127.0.0.1", port }, loopback, "press-1");
    const [relaySide, agentSide] = duplexPair();
    const done = new Promise<UdpCounts>((resolve) => carryUdp(agentSide, socket, 60_000, (counts) => resolve(counts)));
    const answers: Buffer[] = [];
    const relay = datagramChannel(relaySide, { onDatagram: (d) => answers.push(d), onEnd: () => {} });
    const sizes = [1, 1400, 3, 9000, 512];
    for (const n of sizes) relay.send(Buffer.alloc(n, n % 251));
    for (let i = 0; i < 50 && answers.length < sizes.length; i++) await sleep(20);
    assert.deepEqual(
      answers.map((a) => a.length),
      sizes,
    );
    relay.close();
    const counts = await done;
    assert.equal(counts.datagramsIn, sizes.length);
    assert.equal(counts.datagramsOut, sizes.length);
    assert.equal(counts.bytesIn, 1400 + 1 + 3 + 9000 + 512);
  });

  it("ends the stream after the idle time", async () => {
    const port = await echoServer();
    const socket = await dialUdpTarget({ host: "127.0.0.1", port }, loopback, "press-1");
    const [relaySide, agentSide] = duplexPair();
    const started = Date.now();
    const done = new Promise<void>((resolve) => carryUdp(agentSide, socket, 200, () => resolve()));
    const ended = new Promise<number>((resolve) => datagramChannel(relaySide, { onDatagram: () => {}, onEnd: () => resolve(Date.now() - started) }));
    await done;
    const after = await ended;
    assert.ok(after >= 190 && after < 2000, `ended after ${after} ms`);
  });
});
