import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { encodeDatagram } from "../protocol/datagram-capsule.js";
import type { PublishJob } from "../protocol/published-ports.js";
import { DATA_LOG_BYTES, DataLog } from "../relay/data-log.js";
import { RelayedDataLogs } from "./relayed-data-logs.js";

const AT = new Date("2026-12-05T10:00:00.000Z");

function job(changes: Partial<PublishJob> = {}): PublishJob {
  return {
    id: "j1",
    accountId: "a",
    name: "plc",
    deviceId: "d",
    deviceName: "press-7",
    port: 15020,
    target: { host: "192.168.1.10", port: 502 },
    protocol: "tcp",
    allowFrom: [],
    logData: true,
    ...changes,
  };
}

/** Lets the 'data' events of written chunks run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("a relayed TCP connection is logged in the same text as the node's own listener writes", async () => {
  const logs = new RelayedDataLogs(() => AT);
  const [source, target] = [new PassThrough(), new PassThrough()];
  logs.tap(job(), "127.0.0.2", source, target);
  source.write(Buffer.from("0001000000060103", "hex"));
  await flush();
  target.write(Buffer.from("00010000", "hex"));
  await flush();
  const expected = new DataLog();
  expected.add(1, "up", Buffer.from("0001000000060103", "hex"), AT);
  expected.add(1, "down", Buffer.from("00010000", "hex"), AT);
  assert.equal(logs.format("j1"), expected.format("plc (127.0.0.2:15020 -> 192.168.1.10:502)"));
  assert.equal(logs.size("j1"), 12);
});

test("each relayed connection of a job gets the next number, and the cap is the local one", async () => {
  const logs = new RelayedDataLogs(() => AT);
  for (let i = 0; i < 2; i++) {
    const source = new PassThrough();
    logs.tap(job(), "127.0.0.2", source, new PassThrough());
    source.write(Buffer.alloc(DATA_LOG_BYTES, i));
    await flush();
  }
  const lines = logs.format("j1")!.trimEnd().split("\n");
  assert.match(lines[0]!, new RegExp(`: ${DATA_LOG_BYTES} bytes held, ${DATA_LOG_BYTES} older bytes dropped \\(cap ${DATA_LOG_BYTES} bytes\\)$`));
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(" ").slice(1, 4).join(" ")),
    [`#2 up ${DATA_LOG_BYTES}`],
  );
});

test("a relayed UDP mapping logs the datagrams' payloads, not their capsules, even when a capsule is split", async () => {
  const logs = new RelayedDataLogs(() => AT);
  const [source, target] = [new PassThrough(), new PassThrough()];
  logs.tap(job({ protocol: "udp", target: { host: "192.168.1.10", port: 161 } }), "127.0.0.2", source, target);
  const capsule = encodeDatagram(Buffer.from("hello"));
  source.write(capsule.subarray(0, 3));
  await flush();
  source.write(capsule.subarray(3));
  target.write(Buffer.concat([encodeDatagram(Buffer.from("echo:")), encodeDatagram(Buffer.from("hello"))]));
  await flush();
  const lines = logs.format("j1")!.trimEnd().split("\n");
  assert.equal(lines[0], "# data log of plc (127.0.0.2:15020 -> 192.168.1.10:161/udp): 15 bytes held, 0 older bytes dropped (cap 1048576 bytes)");
  assert.deepEqual(
    lines.slice(1).map((l) => l.split(" ").slice(1).join(" ")),
    [
      `#1 up 5 ${Buffer.from("hello").toString("hex")}`,
      `#1 down 5 ${Buffer.from("echo:").toString("hex")}`,
      `#1 down 5 ${Buffer.from("hello").toString("hex")}`,
    ],
  );
});

test("a job without --log-data keeps no log", async () => {
  const logs = new RelayedDataLogs(() => AT);
  const source = new PassThrough();
  logs.tap(job({ logData: false }), "127.0.0.2", source, new PassThrough());
  source.write("x");
  await flush();
  assert.equal(logs.format("j1"), undefined);
  assert.equal(logs.size("j1"), 0);
});
