import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import { parseTargetEntry } from "../protocol/target-filter.js";
import { Allowlist, parseAllowRule } from "./allowlist.js";
import { dialTarget } from "./target-dialer.js";

/**
 * The agent's second check: besides its own allowlist, every resolved address must pass the
 * targets the access rules allowed for this stream (sent by the relay with the stream).
 * Two listeners share one port on 127.0.0.1 and 127.0.0.2, so a refusal is never a mere
 * "connection refused".
 */

interface Pair {
  port: number;
  accepted: Map<string, number>;
  servers: Server[];
  sockets: Socket[];
  /** Woken on each accepted connection. */
  waiters: Set<() => void>;
}

const pairs: Pair[] = [];
const dialed: Socket[] = [];

async function listenPair(): Promise<Pair> {
  for (;;) {
    const first = createServer();
    first.listen(0, "127.0.0.2");
    await once(first, "listening");
    const port = (first.address() as AddressInfo).port;
    const second = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      second.once("error", () => resolve(false));
      second.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (!ok) {
      first.close();
      continue;
    }
    const pair: Pair = { port, accepted: new Map(), servers: [first, second], sockets: [], waiters: new Set() };
    for (const [server, host] of [
      [first, "127.0.0.2"],
      [second, "127.0.0.1"],
    ] as const) {
      server.on("connection", (s: Socket) => {
        pair.sockets.push(s);
        pair.accepted.set(host, (pair.accepted.get(host) ?? 0) + 1);
        for (const wake of pair.waiters) wake();
      });
    }
    pairs.push(pair);
    return pair;
  }
}

const lan = new Allowlist([parseAllowRule("127.0.0.0/8")]);
const targets = (...entries: string[]) => entries.map(parseTargetEntry);

/** Resolves once the pair accepted every connection of `sockets` (matched by their local ports). */
function acceptedAll(p: Pair, sockets: readonly Socket[]): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!sockets.every((socket) => p.sockets.some((s) => s.remotePort === socket.localPort && s.remoteAddress === socket.localAddress))) return;
      p.waiters.delete(check);
      resolve();
    };
    p.waiters.add(check);
    check();
  });
}

/**
 * Fails if anything dialed either listener before now: probes dialed now are accepted after
 * any earlier connection (accepts come in arrival order), so once they are, they must be alone.
 */
async function assertNothingDialed(p: Pair): Promise<void> {
  const probes = ["127.0.0.1", "127.0.0.2"].map((host) => connect(p.port, host));
  dialed.push(...probes);
  await Promise.all(probes.map((probe) => once(probe, "connect")));
  await acceptedAll(p, probes);
  assert.deepEqual(Object.fromEntries(p.accepted), { "127.0.0.1": 1, "127.0.0.2": 1 }, "only the probes reached the listeners");
}

function refusedBy(layer: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof FernlinkError && err.code === "target-not-allowed" && layer.test(err.message);
}

afterEach(() => {
  for (const socket of dialed.splice(0)) socket.destroy();
  for (const pair of pairs.splice(0)) {
    for (const s of pair.sockets) s.destroy();
    for (const s of pair.servers) s.close();
  }
});

describe("dialTarget with the stream's allowed targets", { timeout: 20_000 }, () => {
  it("dials an address the allowed targets name", async () => {
    const p = await listenPair();
    const socket = await dialTarget({ host: "127.0.0.2", port: p.port }, lan, "press-7", targets(`127.0.0.2:${p.port}`));
    dialed.push(socket);
    await acceptedAll(p, [socket]);
    assert.equal(p.accepted.get("127.0.0.2"), 1);
  });

  it("refuses another address on the same port, naming the access rules, without dialing", async () => {
    const p = await listenPair();
    await assert.rejects(dialTarget({ host: "127.0.0.1", port: p.port }, lan, "press-7", targets(`127.0.0.2:${p.port}`)), refusedBy(/access rules/));
    await assertNothingDialed(p);
  });

  it("refuses a host name whose address the rules do not allow, after resolving it", async () => {
    const p = await listenPair();
    await assert.rejects(
      dialTarget({ host: "localhost", port: p.port }, lan, "press-7", targets(`127.0.0.2:${p.port}`)),
      refusedBy(/localhost:\d+ \(127\.0\.0\.1.*access rules/),
    );
    await assertNothingDialed(p);
  });

  it("dials a host name the rules name, and an IP the named entry resolves to", async () => {
    const p = await listenPair();
    const sockets = [
      await dialTarget({ host: "LOCALHOST", port: p.port }, lan, "press-7", targets(`localhost:${p.port}`)),
      await dialTarget({ host: "127.0.0.1", port: p.port }, lan, "press-7", targets(`localhost:${p.port}`)),
    ];
    dialed.push(...sockets);
    await acceptedAll(p, sockets);
    assert.equal(p.accepted.get("127.0.0.1"), 2);
    await assert.rejects(dialTarget({ host: "127.0.0.2", port: p.port }, lan, "press-7", targets(`localhost:${p.port}`)), refusedBy(/access rules/));
  });

  it("reads other spellings of an address as that address", async () => {
    const p = await listenPair();
    const socket = await dialTarget({ host: "127.2", port: p.port }, lan, "press-7", targets(`127.0.0.2:${p.port}`));
    dialed.push(socket);
    assert.equal(socket.remoteAddress, "127.0.0.2");
  });

  it("still refuses what its own allowlist does not allow, whatever the rules say", async () => {
    const p = await listenPair();
    const only1 = new Allowlist([parseAllowRule("127.0.0.1")]);
    await assert.rejects(dialTarget({ host: "127.0.0.2", port: p.port }, only1, "press-7", targets("127.0.0.0/8")), refusedBy(/by the agent of "press-7"/));
    await assertNothingDialed(p);
  });

  it("refuses everything when the rules sent no entries", async () => {
    const p = await listenPair();
    await assert.rejects(dialTarget({ host: "127.0.0.2", port: p.port }, lan, "press-7", []), refusedBy(/access rules/));
    await assertNothingDialed(p);
  });

  it("lets its allowlist alone decide when no allowed targets came with the stream", async () => {
    const p = await listenPair();
    const socket = await dialTarget({ host: "127.0.0.1", port: p.port }, lan, "press-7");
    dialed.push(socket);
    await acceptedAll(p, [socket]);
    assert.equal(p.accepted.get("127.0.0.1"), 1);
  });
});
