import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LiveStreams, LiveTunnels, StatusResponse } from "../protocol/api-live.js";
import type { LiveStream } from "../protocol/relay-access.js";
import type { Presence, TunnelInfo } from "./context.js";
import { liveStreamInfo, liveStreams, liveTunnels, statusSummary, streamTotals, viewerStreams } from "./live-view.js";

const at = (s: string) => new Date(`2030-01-01T${s}Z`);

function stream(id: string, accountId: string, userId: string, startedAt: string, bytes: [number, number] = [0, 0]): LiveStream {
  return {
    streamId: id,
    request: { token: "t", device: "press-7", target: { host: id === "v6" ? "fd00::7" : "192.168.1.10", port: 502 }, source: "192.0.2.9" },
    grant: { accountId, userId, userName: userId, sessionId: "s", deviceId: "d7", deviceName: "press-7", lastSeen: null, allowedTargets: [] },
    startedAt: at(startedAt),
    bytesUp: bytes[0],
    bytesDown: bytes[1],
  };
}

/** A presence whose `streams` and `tunnels` ignore the account, as a careless implementation might. */
function presence(streams: LiveStream[], tunnels: (TunnelInfo & { accountId: string })[]): Presence {
  return {
    status: () => undefined,
    disconnect: () => {},
    streams: () => streams,
    cutStream: () => {},
    tunnels: (accountId) => tunnels.filter((t) => t.accountId === accountId),
    relays: (accountId) => [
      { id: "relay-b", tunnels: 0, streams: 0 },
      { id: "relay-a", tunnels: tunnels.filter((t) => t.accountId === accountId).length, streams: 1 },
    ],
  };
}

const tunnel = (deviceName: string, accountId: string): TunnelInfo & { accountId: string } => ({
  deviceId: `id-${deviceName}`,
  deviceName,
  address: "198.51.100.4",
  since: at("10:00:00"),
  relay: "relay-a",
  accountId,
});

describe("the live view", () => {
  const streams = [
    stream("s2", "acme", "bob", "10:05:00", [5, 7]),
    stream("s1", "acme", "carol", "10:01:00", [1, 2]),
    stream("x1", "other", "olga", "09:00:00", [100, 100]),
  ];
  const p = presence(streams, [tunnel("press-8", "acme"), tunnel("press-7", "acme"), tunnel("mill-3", "other")]);

  it("lists the account's tunnels sorted by device, with ISO times", () => {
    const view = liveTunnels(p, "acme");
    LiveTunnels.parse(view);
    assert.deepEqual(view.tunnels, [
      { device: "press-7", address: "198.51.100.4", since: "2030-01-01T10:00:00.000Z", relay: "relay-a" },
      { device: "press-8", address: "198.51.100.4", since: "2030-01-01T10:00:00.000Z", relay: "relay-a" },
    ]);
  });

  it("lists the account's streams oldest first, and never another account's even if the presence offers it", () => {
    const view = liveStreams(p, "acme");
    LiveStreams.parse(view);
    assert.deepEqual(
      view.streams.map((s) => s.id),
      ["s1", "s2"],
    );
    assert.deepEqual(view.streams[1], {
      id: "s2",
      user: "bob",
      device: "press-7",
      target: "192.168.1.10:502",
      source: "192.0.2.9",
      since: "2030-01-01T10:05:00.000Z",
      bytesUp: 5,
      bytesDown: 7,
    });
  });

  it("writes an IPv6 target in brackets", () => {
    assert.equal(liveStreamInfo(stream("v6", "acme", "bob", "10:00:00")).target, "[fd00::7]:502");
  });

  it("gives an admin the account's streams and a member only their own", () => {
    assert.deepEqual(
      viewerStreams(p, { accountId: "acme", userId: "alice", role: "admin" }).map((s) => s.streamId),
      ["s2", "s1"],
    );
    assert.deepEqual(
      viewerStreams(p, { accountId: "acme", userId: "bob", role: "member" }).map((s) => s.streamId),
      ["s2"],
    );
    assert.deepEqual(viewerStreams(p, { accountId: "acme", userId: "olga", role: "member" }), []);
  });

  it("adds up stream counts and bytes", () => {
    assert.deepEqual(streamTotals(streams.slice(0, 2)), { count: 2, bytesUp: 6, bytesDown: 9 });
    assert.deepEqual(streamTotals([]), { count: 0, bytesUp: 0, bytesDown: 0 });
  });

  it("sums up the account's status with relays sorted by id and whole seconds of uptime", () => {
    const status = statusSummary(p, "acme", { version: "1.2.3", startedAt: at("08:00:00"), now: new Date(at("10:00:00").getTime() + 999) });
    StatusResponse.parse(status);
    assert.deepEqual(status, {
      version: "1.2.3",
      startedAt: "2030-01-01T08:00:00.000Z",
      uptimeSeconds: 7200,
      relays: [
        { id: "relay-a", tunnels: 2, streams: 1 },
        { id: "relay-b", tunnels: 0, streams: 0 },
      ],
      agents: 2,
      streams: 2,
    });
  });

  it("never reports negative uptime when the clock steps back", () => {
    assert.equal(statusSummary(p, "acme", { version: "1", startedAt: at("10:00:00"), now: at("09:59:00") }).uptimeSeconds, 0);
  });
});
