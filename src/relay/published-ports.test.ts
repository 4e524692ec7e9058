import assert from "node:assert/strict";
import { once } from "node:events";
import net, { type AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { test } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import type { PublishJob } from "../protocol/published-ports.js";
import type { StreamRequest } from "../protocol/relay-access.js";
import { duplexPair } from "../shared/duplex-pair.js";
import { createLogger } from "../shared/log.js";
import { createPortPublisher } from "./published-ports.js";

const log = createLogger("test", { level: "error" });

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function job(port: number, allowFrom: string[] = []): PublishJob {
  return {
    id: "j1",
    accountId: "a",
    name: "plc",
    deviceId: "d",
    deviceName: "press-7",
    port,
    target: { host: "192.168.1.10", port: 502 },
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
