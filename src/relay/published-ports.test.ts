import assert from "node:assert/strict";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import net, { type AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { test } from "node:test";
import { DatagramDecoder, encodeDatagram } from "../protocol/datagram-capsule.js";
import { FernlinkError } from "../protocol/errors.js";
import type { PublishJob } from "../protocol/published-ports.js";
import type { StreamRequest } from "../protocol/relay-access.js";
import { duplexPair } from "../shared/duplex-pair.js";
import { freePort, freeUdpPort } from "../shared/free-ports-test-kit.js";
import { createLogger } from "../shared/log.js";
import { createPortPublisher } from "./published-ports.js";

const log = createLogger("test", { level: "error" });

function job(port: number, allowFrom: string[] = []): PublishJob {
  return {
    id: "j1",
    accountId: "a",
    name: "plc",
    deviceId: "d",
    deviceName: "press-7",
    port,
    target: { host: "192.168.1.10", port: 502 },
    protocol: "tcp",
    allowFrom,
    logData: true,
  };
}

/** A stream opener that answers each stream with an upper-cased echo, and remembers the requests. */
function echoOpener(requests: StreamRequest[]) {
  return async (request: StreamRequest): Promise<Duplex> => {
    requests.push(request);
    const [ours, theirs] = duplexPair();
    ours.on("data", (chunk: Buffer) => ours.write(chunk.toString().toUpperCase()));
    ours.on("end", () => ours.end());
    return theirs;
  };
}

async function roundTrip(port: number, text: string, localAddress = "127.0.0.1"): Promise<string> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  socket.on("error", () => {});
  socket.end(text);
  let got = "";
  socket.setEncoding("utf8").on("data", (s: string) => (got += s));
  // A reset is an answer too (the refused source): wait for the close, not an error-free one.
  await new Promise((resolve) => socket.once("close", resolve));
  return got;
}

test("a whitelisted connection becomes a stream of the job, logged both ways; another source is closed and counted", async () => {
  const requests: StreamRequest[] = [];
  const port = await freePort();
  const publisher = createPortPublisher({ host: "127.0.0.1", range: { low: port, high: port }, openStream: echoOpener(requests), log });
  try {
    await publisher.open(job(port, ["127.0.0.1/32"]));
    assert.equal(await roundTrip(port, "hello"), "HELLO", "the answer arrives after the client ended its side");
    assert.equal(requests.length, 1);
    assert.deepEqual(
      [requests[0]!.job, requests[0]!.via, requests[0]!.token, requests[0]!.device],
      [{ id: "j1", accountId: "a" }, "publish:j1", undefined, "press-7"],
    );
    assert.equal(await roundTrip(port, "intruder", "127.0.0.2"), "");
    assert.equal(requests.length, 1, "no stream for the refused source");
    assert.deepEqual(publisher.stats("j1"), { listening: true, accepted: 1, refused: 1, errors: 0, logBytes: 10 });
    assert.match(publisher.dataLog("j1") ?? "", / #1 up 5 68656c6c6f\n.* #1 down 5 48454c4c4f\n/);
  } finally {
    publisher.closeAll();
  }
});

test("a refused stream closes the connection and is counted with its reason; a closed job refuses connections", async () => {
  const port = await freePort();
  const publisher = createPortPublisher({
    host: "127.0.0.1",
    range: { low: port, high: port },
    openStream: () => Promise.reject(new FernlinkError("device-offline", "device press-7 is offline")),
    log,
  });
  try {
    await publisher.open(job(port));
    assert.equal(await roundTrip(port, "x"), "");
    assert.deepEqual([publisher.stats("j1")?.errors, publisher.stats("j1")?.lastError], [1, "device press-7 is offline"]);
    publisher.close("j1");
    assert.equal(publisher.stats("j1")?.listening, false);
    await assert.rejects(once(net.connect({ host: "127.0.0.1", port }), "connect"), /ECONNREFUSED/);
  } finally {
    publisher.closeAll();
  }
});

test("a port another program holds is a conflict that says so", async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const { port } = holder.address() as AddressInfo;
  const publisher = createPortPublisher({ host: "127.0.0.1", range: { low: port, high: port }, openStream: echoOpener([]), log });
  try {
    await assert.rejects(
      publisher.open(job(port)),
      (e: unknown) => e instanceof FernlinkError && e.code === "conflict" && /in use on 127\.0\.0\.1 by another program/.test(e.message),
    );
  } finally {
    publisher.closeAll();
    holder.close();
  }
});

/** A UDP socket on `address` that queues what it receives. */
async function udpClient(address: string): Promise<{ socket: UdpSocket; next: () => Promise<string> }> {
  const socket = createSocket("udp4");
  socket.bind(0, address);
  await once(socket, "listening");
  const queue: string[] = [];
  socket.on("message", (m) => queue.push(m.toString()));
  const next = async (): Promise<string> => {
    for (let i = 0; i < 200 && queue.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const got = queue.shift();
    if (got === undefined) throw new Error("no datagram within 5 s");
    return got;
  };
  return { socket, next };
}

/** A UDP stream opener whose far end answers each datagram with it upper-cased; remembers the requests and whether each stream ended. */
function udpEchoOpener(requests: StreamRequest[], ended: boolean[]) {
  return async (request: StreamRequest): Promise<Duplex> => {
    const index = requests.push(request) - 1;
    ended[index] = false;
    const [ours, theirs] = duplexPair();
    const decoder = new DatagramDecoder();
    ours.on("data", (chunk: Buffer) => {
      for (const d of decoder.push(chunk)) ours.write(encodeDatagram(Buffer.from(d.toString().toUpperCase())));
    });
    ours.on("end", () => {
      ended[index] = true;
      ours.end();
    });
    return theirs;
  };
}

test("a published UDP port gives each whitelisted source its own stream, marked udp, ended when idle; other sources' datagrams are dropped and counted", async () => {
  const requests: StreamRequest[] = [];
  const ended: boolean[] = [];
  const port = await freeUdpPort();
  const publisher = createPortPublisher({
    host: "127.0.0.1",
    range: { low: port, high: port },
    openStream: udpEchoOpener(requests, ended),
    log,
    udpIdleMs: 500,
  });
  const a = await udpClient("127.0.0.1");
  const b = await udpClient("127.0.0.1");
  const outsider = await udpClient("127.0.0.2");
  try {
    await publisher.open({ ...job(port, ["127.0.0.1/32"]), protocol: "udp" });
    a.socket.send("one", port, "127.0.0.1");
    a.socket.send("two", port, "127.0.0.1");
    assert.deepEqual([await a.next(), await a.next()], ["ONE", "TWO"], "boundaries and order kept");
    b.socket.send("three", port, "127.0.0.1");
    assert.equal(await b.next(), "THREE");
    assert.equal(requests.length, 2, "one stream per source address and port");
    assert.deepEqual(
      [requests[0]!.protocol, requests[0]!.source, requests[0]!.via, requests[0]!.job],
      ["udp", "127.0.0.1", "publish:j1", { id: "j1", accountId: "a" }],
    );
    outsider.socket.send("intruder", port, "127.0.0.1");
    outsider.socket.send("intruder", port, "127.0.0.1");
    for (let i = 0; i < 200 && publisher.stats("j1")?.refused !== 2; i++) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(publisher.stats("j1"), { listening: true, accepted: 2, refused: 2, errors: 0, logBytes: 22 });
    assert.equal(requests.length, 2, "no stream for the source outside the whitelist");
    assert.match(publisher.dataLog("j1") ?? "", /plc \(127\.0\.0\.1:\d+ -> 192\.168\.1\.10:502\/udp\)/);
    assert.match(publisher.dataLog("j1") ?? "", / #1 up 3 6f6e65\n/);
    assert.match(publisher.dataLog("j1") ?? "", / #1 down 3 4f4e45\n/);
    assert.match(publisher.dataLog("j1") ?? "", / #2 up 5 7468726565\n/);
    for (let i = 0; i < 200 && !(ended[0] && ended[1]); i++) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(ended, [true, true], "idle mappings end their streams");
    a.socket.send("again", port, "127.0.0.1");
    assert.equal(await a.next(), "AGAIN");
    assert.equal(requests.length, 3, "a datagram after expiry opens a new stream");
    publisher.close("j1");
    for (let i = 0; i < 200 && !ended[2]; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(ended[2], true, "closing the job ends its mappings");
  } finally {
    publisher.closeAll();
    for (const c of [a, b, outsider]) c.socket.close();
  }
});

test("a UDP port another program holds is a conflict that says so", async () => {
  const holder = createSocket("udp4");
  holder.bind(0, "127.0.0.1");
  await once(holder, "listening");
  const { port } = holder.address();
  const publisher = createPortPublisher({ host: "127.0.0.1", range: { low: port, high: port }, openStream: echoOpener([]), log });
  try {
    await assert.rejects(
      publisher.open({ ...job(port), protocol: "udp" }),
      (e: unknown) => e instanceof FernlinkError && e.code === "conflict" && /port \d+\/udp is in use on 127\.0\.0\.1 by another program/.test(e.message),
    );
  } finally {
    publisher.closeAll();
    holder.close();
  }
});
