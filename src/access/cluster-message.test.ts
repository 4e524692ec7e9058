import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLUSTER_PAYLOAD_MAX_BYTES, type ClusterMessage, decodeClusterMessage, encodeClusterMessage } from "./cluster-message.js";

const messages: ClusterMessage[] = [
  { type: "event", from: "relay-a", event: { kind: "devices", accountId: "acc", deviceId: "dev", device: "press-7", online: true } },
  { type: "event", from: "relay-a", event: { kind: "streams", accountId: "acc", streamId: "s1", userId: "u1", change: "cut" } },
  { type: "disconnect", from: "relay-b", deviceId: "dev" },
  { type: "revalidate", from: "relay-b", accountId: "acc" },
  { type: "end-sessions", from: "relay-b", accountId: "acc" },
  { type: "access-changed", from: "relay-b", accountId: "acc" },
  { type: "close-stream", from: "relay-b", requestId: "r1", accountId: "acc", streamId: "s1" },
  {
    type: "stream-closed",
    from: "relay-a",
    to: "relay-b",
    requestId: "r1",
    stream: { streamId: "s1", userId: "u1", userName: "bob", deviceName: "press-7", target: "127.0.0.1:502" },
  },
];

describe("cluster messages", () => {
  it("round-trip every message of the catalogue", () => {
    for (const msg of messages) assert.deepEqual(decodeClusterMessage(encodeClusterMessage(msg)), msg);
  });

  it("reject a payload that is not JSON, an unknown type, a missing field or an unknown key", () => {
    const bad = [
      "not json",
      "null",
      JSON.stringify({ type: "reboot", from: "x" }),
      JSON.stringify({ type: "disconnect", from: "x" }),
      JSON.stringify({ type: "disconnect", from: "x", deviceId: "d", extra: 1 }),
      JSON.stringify({ type: "event", from: "x", event: { kind: "streams", accountId: "a", streamId: "s", userId: "u", change: "exploded" } }),
      JSON.stringify({ type: "revalidate", from: "", accountId: "a" }),
    ];
    for (const payload of bad) assert.throws(() => decodeClusterMessage(payload), { code: "message-invalid" }, payload);
  });

  it("refuse to encode a message PostgreSQL would not deliver", () => {
    const huge = "x".repeat(190);
    const msg: ClusterMessage = {
      type: "stream-closed",
      from: huge,
      to: huge,
      requestId: huge,
      stream: { streamId: huge, userId: huge, userName: huge, deviceName: huge, target: huge },
    };
    assert.ok(encodeClusterMessage(msg).length < CLUSTER_PAYLOAD_MAX_BYTES, "the largest valid message fits");
    assert.throws(() => encodeClusterMessage({ type: "disconnect", from: "x", deviceId: "d".repeat(201) }));
  });
});
