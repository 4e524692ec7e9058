import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { routePath } from "../protocol/api.js";
import { ACCESS_ROUTES } from "../protocol/api-access.js";
import type { LiveStream, Requester } from "../protocol/relay-access.js";
import { parseHostPort } from "../protocol/target.js";
import { type AccessFixture, openAccessFixture } from "./access-rules-fixture.js";
import { TEST_BACKENDS } from "./access-test-kit.js";
import { revalidateStreams } from "./live-streams.js";
import { authorizeStream } from "./stream-access.js";

const R = ACCESS_ROUTES;

for (const backend of TEST_BACKENDS) {
  describe(`stream and device access by the rules on ${backend}`, () => {
    let f: AccessFixture;
    let alice: string;
    let bob: string;
    let live: LiveStream[] = [];
    let opened = 0;
    const requester = (name: "alice" | "bob" | "carol" | "olga"): Requester => {
      const u = f.users[name];
      return { accountId: u.account_id, userId: u.id, userName: u.name, role: u.role, sessionId: "s" };
    };
    const authorize = (name: "alice" | "bob" | "carol" | "olga", device: string, target: string) =>
      authorizeStream(f.access.ctx, requester(name), { token: "t", device, target: parseHostPort(target), source: "test" });
    const refusal = async (name: "alice" | "bob" | "carol" | "olga", device: string, target: string): Promise<string> =>
      authorize(name, device, target).then(
        () => "allowed",
        (err: { code: string }) => err.code,
      );
    const admin = async (method: string, path: string, body?: unknown): Promise<void> => {
      const res = await f.call(method, path, { token: alice, ...(body ? { body } : {}) });
      assert.ok(res.status < 300, `${method} ${path}: ${JSON.stringify(res.json)}`);
    };
    /** A group with bob, a pool with press-7, and a rule between them. */
    const setUp = async (name: string, rule: { level?: string; targets?: string[] }): Promise<void> => {
      await admin("POST", R.groups, { name });
      await admin("POST", routePath(R.groupMembers, { name }), { add: ["bob"] });
      await admin("POST", R.pools, { name });
      await admin("POST", routePath(R.poolDevices, { name }), { add: ["press-7"] });
      await admin("POST", R.accessRules, { group: name, pool: name, ...rule });
    };
    /** Opens a (pretend) live stream of bob's and returns its id. */
    const openLive = async (target: string): Promise<string> => {
      const grant = await authorize("bob", "press-7", target);
      const streamId = `s${++opened}`;
      live.push({
        streamId,
        request: { token: "t", device: "press-7", target: parseHostPort(target), source: "test" },
        grant,
        startedAt: new Date(),
        bytesUp: 0,
        bytesDown: 0,
      });
      return streamId;
    };

    before(async () => {
      f = await openAccessFixture(backend);
      [alice, bob] = [await f.login("alice"), await f.login("bob")];
      const cut = f.access.cut;
      f.access.ctx.presence = {
        ...f.access.ctx.presence,
        streams: () => live,
        cutStream: (id) => {
          cut.push(id);
          live = live.filter((s) => s.streamId !== id);
        },
      };
    });
    after(() => f?.close());

    test("a member without a rule sees no device, and showing one reads as missing and is audited", async () => {
      assert.deepEqual((await f.call("GET", "/api/v1/devices", { token: bob })).json, []);
      const show = await f.call("GET", "/api/v1/devices/press-7", { token: bob });
      assert.equal(show.status, 404);
      assert.equal(show.json.error.code, "not-found");
      const unknown = await f.call("GET", "/api/v1/devices/nope", { token: bob });
      assert.deepEqual(unknown.json.error.message.replace("nope", "press-7"), show.json.error.message);
      const rows = (await f.auditRows()).filter((r) => r.action === "device.show" && r.actor === "bob");
      assert.deepEqual(
        rows.map((r) => [r.object, r.result]),
        [["press-7", "denied"]],
      );
      assert.equal(await refusal("bob", "press-7", "192.168.1.10:502"), "not-found");
    });

    test("view shows the device but refuses streams as forbidden", async () => {
      await setUp("viewers", { level: "view" });
      const list = await f.call("GET", "/api/v1/devices", { token: bob });
      assert.deepEqual(
        list.json.map((d: { name: string }) => d.name),
        ["press-7"],
      );
      assert.equal((await f.call("GET", "/api/v1/devices/press-7", { token: bob })).status, 200);
      assert.equal((await f.call("GET", "/api/v1/devices/press-8", { token: bob })).json.error.code, "not-found");
      assert.equal(await refusal("bob", "press-7", "192.168.1.10:502"), "forbidden");
    });

    test("connect with targets allows those targets, in any spelling, and nothing else", async () => {
      await setUp("service", { targets: ["192.168.1.10:502", "plc.local:102"] });
      const cases: [string, string][] = [
        ["192.168.1.10:502", "allowed"],
        ["[::ffff:192.168.1.10]:502", "allowed"],
        ["3232235786:502", "allowed"],
        ["192.168.1.10:503", "target-not-allowed"],
        ["192.168.1.11:502", "target-not-allowed"],
        ["plc.local:102", "allowed"],
        ["192.168.1.50:102", "allowed"],
        ["elsewhere.local:8080", "target-not-allowed"],
      ];
      for (const [target, outcome] of cases) assert.equal(await refusal("bob", "press-7", target), outcome, target);
      const grant = await authorize("bob", "press-7", "plc.local:102");
      assert.deepEqual(grant.allowedTargets, ["plc.local:102"], "the agent gets the entries for the port");
      assert.equal(await refusal("carol", "press-7", "192.168.1.10:502"), "not-found");
    });

    test("an admin reaches any target within the device's LAN ranges and nothing outside", async () => {
      assert.equal(await refusal("alice", "press-7", "192.168.1.200:22"), "allowed");
      assert.equal(await refusal("alice", "press-7", "192.168.2.1:22"), "target-not-allowed");
      assert.equal(await refusal("olga", "press-7", "192.168.1.200:22"), "not-found");
      assert.deepEqual((await authorize("alice", "press-7", "192.168.1.1:1")).allowedTargets, ["192.168.1.0/24"]);
    });

    test("revoking a rule cuts the streams that relied on it and only those", async () => {
      await setUp("revoke", { targets: ["192.168.1.20:80"] });
      const doomed = await openLive("192.168.1.20:80");
      const kept = await openLive("192.168.1.10:502");
      await admin("DELETE", routePath(R.accessRule, { group: "revoke", pool: "revoke" }));
      assert.ok(f.access.cut.includes(doomed));
      assert.ok(!f.access.cut.includes(kept), "the stream through the service rule stays");
    });

    test("removing the member, the device from the pool, the group or the pool each cut the stream", async () => {
      const changes: [string, (name: string) => Promise<void>][] = [
        ["member", (n) => admin("POST", routePath(R.groupMembers, { name: n }), { remove: ["bob"] })],
        ["device", (n) => admin("POST", routePath(R.poolDevices, { name: n }), { remove: ["press-7"] })],
        ["group", (n) => admin("DELETE", routePath(R.group, { name: n }))],
        ["pool", (n) => admin("DELETE", routePath(R.pool, { name: n }))],
      ];
      for (const [what, change] of changes) {
        await setUp(`cut-${what}`, { targets: ["192.168.1.30:80"] });
        const stream = await openLive("192.168.1.30:80");
        await change(`cut-${what}`);
        assert.ok(f.access.cut.includes(stream), `removing the ${what} cut the stream`);
      }
    });

    test("narrowing a rule cuts streams outside it; a host-name stream stays while its targets stay granted", async () => {
      await setUp("narrow", { targets: ["192.168.1.40:80", "192.168.1.41:80", "hmi.local:80"] });
      const [outside, inside, named] = [await openLive("192.168.1.41:80"), await openLive("192.168.1.40:80"), await openLive("hmi.local:80")];
      await admin("POST", R.accessRules, { group: "narrow", pool: "narrow", targets: ["192.168.1.40:80", "hmi.local:80", "192.168.1.41:81"] });
      assert.ok(f.access.cut.includes(outside));
      assert.ok(!f.access.cut.includes(inside));
      // hmi.local was sent with 192.168.1.40:80, 192.168.1.41:80 and hmi.local:80; one of them went.
      assert.ok(f.access.cut.includes(named));
      const again = await openLive("hmi.local:80");
      await admin("POST", R.groups, { name: "unrelated" });
      assert.equal(await revalidateStreams(f.access.ctx, f.users.bob.account_id), 0);
      assert.ok(!f.access.cut.includes(again));
    });
  });
}
