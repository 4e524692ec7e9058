import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RelayCommand, RelayEvent, RelayName, RelayRegisterRequest } from "./relay-link.js";

describe("the relay link contract", () => {
  test("events a relay sends are accepted, with nothing extra", () => {
    for (const event of [
      { type: "hello", url: "https://relay.example:9443", region: "eu", draining: false },
      { type: "up", deviceId: "d-1", address: "203.0.113.9:40000", since: "2030-01-01T00:00:00.000Z" },
      { type: "down", deviceId: "d-1" },
      { type: "load", devices: 3, streams: 0, bytesUp: 10, bytesDown: 0 },
      { type: "published", host: "127.0.0.2", jobs: [{ jobId: "j-1", listening: true, accepted: 2, refused: 1, errors: 0, logBytes: 0 }] },
    ]) {
      assert.deepEqual(RelayEvent.parse(event), event);
    }
    assert.equal(RelayEvent.safeParse({ type: "down", deviceId: "d-1", extra: 1 }).success, false);
    assert.equal(RelayEvent.safeParse({ type: "load", devices: -1, streams: 0, bytesUp: 0, bytesDown: 0 }).success, false);
    assert.equal(RelayEvent.safeParse({ type: "reboot" }).success, false);
  });
  test("commands an access node sends are accepted", () => {
    assert.deepEqual(RelayCommand.parse({ type: "disconnect", deviceId: "d-1" }), { type: "disconnect", deviceId: "d-1" });
    assert.deepEqual(RelayCommand.parse({ type: "drain", deadlineMs: 600000 }), { type: "drain", deadlineMs: 600000 });
    assert.equal(RelayCommand.safeParse({ type: "drain", deadlineMs: -1 }).success, false);
    const job = {
      id: "j-1",
      accountId: "a-1",
      name: "plc",
      deviceId: "d-1",
      deviceName: "press-7",
      port: 15020,
      target: { host: "192.168.1.10", port: 502 },
      protocol: "tcp",
      allowFrom: ["10.20.0.0/24"],
      logData: false,
    };
    assert.deepEqual(RelayCommand.parse({ type: "publish", jobs: [job] }), { type: "publish", jobs: [job] });
    assert.deepEqual(RelayCommand.parse({ type: "publish", jobs: [] }), { type: "publish", jobs: [] });
    assert.equal(RelayCommand.safeParse({ type: "publish", jobs: [{ ...job, port: 0 }] }).success, false);
    assert.equal(RelayCommand.safeParse({ type: "publish", jobs: [{ ...job, protocol: "sctp" }] }).success, false);
  });
  test("registration needs a key, a CSR and a URL; names are plain", () => {
    assert.equal(RelayRegisterRequest.safeParse({ key: "K", csr: "C", url: "https://r:1" }).success, true);
    assert.equal(RelayRegisterRequest.safeParse({ key: "K", csr: "C", url: "not a url" }).success, false);
    assert.equal(RelayName.safeParse("eu-1.west").success, true);
    assert.equal(RelayName.safeParse("-bad").success, false);
    assert.equal(RelayName.safeParse("a b").success, false);
  });
});
