import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LiveStreams, LiveTunnels, StatusResponse } from "../../protocol/api-live.js";
import type { LiveStream } from "../../protocol/relay-access.js";
import { VERSION } from "../../shared/version.js";
import { type AccessFixture, openAccessFixture } from "../access-rules-fixture.js";
import { TEST_BACKENDS } from "../access-test-kit.js";
import type { ChangeEvent } from "../change-feed.js";

for (const backend of TEST_BACKENDS) {
  describe(`the live routes on ${backend}`, () => {
    let f: AccessFixture;
    let alice: string;
    let bob: string;
    let olga: string;
    const events: ChangeEvent[] = [];

    const stream = (id: string, who: "bob" | "olga", device: "press7" | "mill3", target: string): LiveStream => {
      const user = f.users[who];
      const dev = f.devices[device];
      const [host, port] = target.split(":") as [string, string];
      return {
        streamId: id,
        request: { token: undefined, device: dev.name, target: { host, port: Number(port) }, source: "192.0.2.9" },
        grant: {
          accountId: user.account_id,
          userId: user.id,
          userName: user.name,
          sessionId: "s",
          deviceId: dev.id,
          deviceName: dev.name,
          lastSeen: null,
          allowedTargets: [target],
        },
        startedAt: f.access.ctx.now(),
        bytesUp: 1200,
        bytesDown: 34000,
      };
    };

    before(async () => {
      f = await openAccessFixture(backend);
      [alice, bob, olga] = [await f.login("alice"), await f.login("bob"), await f.login("olga")];
      const { live } = f.access;
      live.tunnels.push(
        {
          deviceId: f.devices.press8.id,
          deviceName: "press-8",
          address: "198.51.100.8",
          since: f.access.ctx.now(),
          relay: "relay-1",
          accountId: f.devices.press8.account_id,
        },
        {
          deviceId: f.devices.press7.id,
          deviceName: "press-7",
          address: "198.51.100.7",
          since: f.access.ctx.now(),
          relay: "relay-1",
          accountId: f.devices.press7.account_id,
        },
        {
          deviceId: f.devices.mill3.id,
          deviceName: "mill-3",
          address: "203.0.113.3",
          since: f.access.ctx.now(),
          relay: "relay-1",
          accountId: f.devices.mill3.account_id,
        },
      );
      live.streams.push(
        stream("acme-1", "bob", "press7", "192.168.1.10:502"),
        stream("acme-2", "bob", "press7", "192.168.1.11:102"),
        stream("other-1", "olga", "mill3", "10.0.0.5:502"),
      );
      f.access.ctx.changes.subscribe(f.users.alice.account_id, { onChange: (e) => void events.push(e) });
    });
    after(() => f?.close());

    test("an admin sees the account's tunnels sorted by device, and none of another account", async () => {
      const res = await f.call("GET", "/api/v1/live/tunnels", { token: alice });
      assert.equal(res.status, 200);
      assert.deepEqual(
        LiveTunnels.parse(res.json).tunnels.map((t) => [t.device, t.address, t.relay]),
        [
          ["press-7", "198.51.100.7", "relay-1"],
          ["press-8", "198.51.100.8", "relay-1"],
        ],
      );
      const theirs = await f.call("GET", "/api/v1/live/tunnels", { token: olga });
      assert.deepEqual(
        theirs.json.tunnels.map((t: { device: string }) => t.device),
        ["mill-3"],
      );
    });

    test("an admin sees the account's streams with user, target and bytes, and none of another account", async () => {
      const res = await f.call("GET", "/api/v1/live/streams", { token: alice });
      assert.equal(res.status, 200);
      const { streams } = LiveStreams.parse(res.json);
      assert.deepEqual(
        streams.map((s) => [s.id, s.user, s.device, s.target, s.source, s.bytesUp, s.bytesDown]),
        [
          ["acme-1", "bob", "press-7", "192.168.1.10:502", "192.0.2.9", 1200, 34000],
          ["acme-2", "bob", "press-7", "192.168.1.11:102", "192.0.2.9", 1200, 34000],
        ],
      );
    });

    test("a member may not list tunnels or streams, cut a stream or read the status", async () => {
      for (const [method, path] of [
        ["GET", "/api/v1/live/tunnels"],
        ["GET", "/api/v1/live/streams"],
        ["DELETE", "/api/v1/live/streams/acme-1"],
        ["GET", "/api/v1/status"],
      ] as const) {
        const res = await f.call(method, path, { token: bob });
        assert.deepEqual([res.status, res.json.error?.code], [403, "forbidden"], `${method} ${path}`);
      }
      assert.deepEqual(f.access.cut, []);
    });

    test("the status counts only the caller's account on each relay", async () => {
      const acme = StatusResponse.parse((await f.call("GET", "/api/v1/status", { token: alice })).json);
      assert.equal(acme.version, VERSION);
      assert.deepEqual([acme.agents, acme.streams, acme.relays], [2, 2, [{ id: "relay-1", tunnels: 2, streams: 2 }]]);
      f.access.advance(90_500);
      const other = StatusResponse.parse((await f.call("GET", "/api/v1/status", { token: olga })).json);
      assert.deepEqual([other.agents, other.streams, other.relays], [1, 1, [{ id: "relay-1", tunnels: 1, streams: 1 }]]);
      assert.equal(other.uptimeSeconds - acme.uptimeSeconds, 90);
    });

    test("an admin of another account cannot cut the account's stream: it reads as missing and stays", async () => {
      const res = await f.call("DELETE", "/api/v1/live/streams/acme-1", { token: olga });
      assert.deepEqual([res.status, res.json.error?.code], [404, "not-found"]);
      const mine = await f.call("DELETE", "/api/v1/live/streams/other-1", { token: alice });
      assert.deepEqual([mine.status, mine.json.error?.code], [404, "not-found"]);
      assert.deepEqual(f.access.cut, []);
      assert.equal(f.access.live.streams.length, 3);
    });

    test("an unknown or malformed stream id reads as missing", async () => {
      for (const id of ["no-such-stream", "bad%20id", "x".repeat(200)]) {
        const res = await f.call("DELETE", `/api/v1/live/streams/${id}`, { token: alice });
        assert.deepEqual([res.status, res.json.error?.code], [404, "not-found"], id);
      }
    });

    test("an admin cuts a stream of the account; the cut is audited with device and target and told to the change feed", async () => {
      const res = await f.call("DELETE", "/api/v1/live/streams/acme-2", { token: alice });
      assert.deepEqual([res.status, res.json], [200, { ok: true }]);
      assert.deepEqual(f.access.cut, ["acme-2"]);
      const listed = await f.call("GET", "/api/v1/live/streams", { token: alice });
      assert.deepEqual(
        listed.json.streams.map((s: { id: string }) => s.id),
        ["acme-1"],
      );
      const rows = (await f.auditRows()).filter((r) => r.action === "stream.close" && r.result === "ok");
      assert.deepEqual(
        rows.map((r) => [r.actor, r.object, r.result, r.device, r.target, r.account_id]),
        [["alice", "acme-2", "ok", "press-7", "192.168.1.11:102", f.users.alice.account_id]],
      );
      assert.deepEqual(
        events.filter((e) => e.kind === "streams").map((e) => e.kind === "streams" && [e.streamId, e.change]),
        [["acme-2", "cut"]],
      );
    });
  });
}
