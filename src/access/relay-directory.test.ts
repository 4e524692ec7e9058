import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type RelayEntry, rankRelays, relayEntry } from "./relay-directory.js";
import type { RelayRow } from "./store/relays.js";

function entry(name: string, over: Partial<RelayEntry> = {}): RelayEntry {
  return {
    id: `id-${name}`,
    name,
    kind: "relay",
    region: null,
    url: `https://${name}:443`,
    online: true,
    draining: false,
    devices: 0,
    streams: 0,
    bytesUp: 0,
    bytesDown: 0,
    ...over,
  };
}

describe("rankRelays", () => {
  test("leaves out relays that are offline, draining or not registered", () => {
    const ranked = rankRelays([entry("a", { online: false }), entry("b", { draining: true }), entry("c", { url: null }), entry("d")]);
    assert.deepEqual(
      ranked.map((e) => e.name),
      ["d"],
    );
  });
  test("puts the agent's region first, then the fewest devices, then fewer streams, then the name", () => {
    const relays = [
      entry("a", { region: "us", devices: 0 }),
      entry("b", { region: "eu", devices: 5 }),
      entry("c", { region: "eu", devices: 2, streams: 9 }),
      entry("d", { region: "eu", devices: 2, streams: 1 }),
    ];
    assert.deepEqual(
      rankRelays(relays, { region: "eu" }).map((e) => e.name),
      ["d", "c", "b", "a"],
    );
    assert.deepEqual(
      rankRelays(relays).map((e) => e.name),
      ["a", "d", "c", "b"],
      "without a region: load first",
    );
  });
  test("counts agents just sent to a relay, so a burst is spread", () => {
    const relays = [entry("a"), entry("b")];
    assert.deepEqual(
      rankRelays(relays, { pending: new Map([["id-a", 1]]) }).map((e) => e.name),
      ["b", "a"],
    );
  });
});

describe("relayEntry", () => {
  const row: RelayRow = {
    id: "r",
    name: "r",
    kind: "relay",
    region: null,
    url: "https://r:1",
    key_hash: null,
    key_expires_at: null,
    cert_serial: "1",
    draining_at: null,
    created_at: "2030-01-01T00:00:00.000Z",
    heartbeat_at: "2030-01-01T00:00:00.000Z",
    devices: 4,
    streams: 1,
    bytes_up: "12",
    bytes_down: 3,
  };
  test("reads a relay as online while its heartbeat is at most 15 s old", () => {
    assert.equal(relayEntry(row, new Date("2030-01-01T00:00:15.000Z")).online, true);
    assert.equal(relayEntry(row, new Date("2030-01-01T00:00:15.001Z")).online, false);
    assert.equal(relayEntry({ ...row, heartbeat_at: null }, new Date("2030-01-01T00:00:01.000Z")).online, false);
    assert.equal(relayEntry(row, new Date("2030-01-01T00:00:01.000Z")).bytesUp, 12, "PostgreSQL's bigint text reads as a number");
  });
});
