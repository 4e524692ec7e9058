import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import type { Duplex } from "node:stream";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FernlinkError } from "../protocol/errors.js";
import type { HostPort } from "../protocol/target.js";
import { datagramChannel } from "../shared/datagram-channel.js";
import { duplexPair } from "../shared/duplex-pair.js";
import { startUdpForward } from "./udp-forwarder.js";

/** A stand-in tunnel: each stream echoes its datagrams and ends when the client ends it. */
function echoTunnel(): { open: (t: HostPort) => Promise<Duplex>; opened: HostPort[]; ended: number } {
  const tunnel = {
    opened: [] as HostPort[],
    ended: 0,
    open: async (target: HostPort) => {
      tunnel.opened.push(target);
      const [ours, theirs] = duplexPair();
      const channel = datagramChannel(ours, {
        onDatagram: (d) => channel.send(d),
        onEnd: () => {
          tunnel.ended++;
          channel.close();
        },
      });
      return theirs;
    },
  };
  return tunnel;
}

async function client(): Promise<{ socket: Socket; answers: Buffer[] }> {
  const socket = createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  const answers: Buffer[] = [];
  socket.on("message", (m) => answers.push(m));
  return { socket, answers };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await sleep(10)) if (Date.now() > end) throw new Error("timed out");
}

describe("UDP forward", { timeout: 15_000 }, () => {
  it("gives each source its own stream, keeps boundaries, and ends idle mappings", async () => {
    const tunnel = echoTunnel();
    const target = { host: "10.1.2.3", port: 161 };
    const forward = await startUdpForward({ host: "127.0.0.1", port: 0 }, target, tunnel.open, () => {}, 300);
    const a = await client();
    const b = await client();
    const sizes = [1, 1400, 17];
    for (const n of sizes) a.socket.send(Buffer.alloc(n, 1), forward.address.port, "127.0.0.1");
    b.socket.send(Buffer.from("b"), forward.address.port, "127.0.0.1");
    await until(() => a.answers.length === 3 && b.answers.length === 1);
    assert.deepEqual(
      a.answers.map((x) => x.length),
      sizes,
    );
    assert.deepEqual(b.answers, [Buffer.from("b")]);
    assert.equal(tunnel.opened.length, 2);
    assert.equal(forward.mappings, 2);
    await until(() => forward.mappings === 0 && tunnel.ended === 2);
    a.socket.send(Buffer.from("again"), forward.address.port, "127.0.0.1");
    await until(() => a.answers.length === 4);
    assert.equal(tunnel.opened.length, 3, "a new mapping after expiry");
    a.socket.close();
    b.socket.close();
    await forward.close();
  });

  it("reports a refused stream once, not once per retry", async () => {
    const errors: unknown[] = [];
    const refuse = async (): Promise<Duplex> => {
      throw new FernlinkError("target-not-allowed", "no");
    };
    const forward = await startUdpForward({ host: "127.0.0.1", port: 0 }, { host: "10.1.2.3", port: 53 }, refuse, (err) => errors.push(err));
    const a = await client();
    for (let i = 0; i < 5; i++) {
      a.socket.send(Buffer.from("q"), forward.address.port, "127.0.0.1");
      await sleep(20);
    }
    assert.equal(errors.length, 1);
    a.socket.close();
    await forward.close();
  });

  it("says which port cannot be bound", async () => {
    const first = await startUdpForward({ host: "127.0.0.1", port: 0 }, { host: "10.1.2.3", port: 53 }, echoTunnel().open, () => {});
    await assert.rejects(
      startUdpForward(first.address, { host: "10.1.2.3", port: 53 }, echoTunnel().open, () => {}),
      /cannot listen on 127\.0\.0\.1:\d+ for --forward-udp/,
    );
    await first.close();
  });
});
