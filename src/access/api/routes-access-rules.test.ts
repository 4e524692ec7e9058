import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { routePath } from "../../protocol/api.js";
import { ACCESS_ROUTES } from "../../protocol/api-access.js";
import { type AccessFixture, openAccessFixture } from "../access-rules-fixture.js";
import { TEST_BACKENDS } from "../access-test-kit.js";

for (const backend of TEST_BACKENDS) {
  describe(`group, pool and access rule routes on ${backend}`, () => {
    let f: AccessFixture;
    let alice: string;
    let bob: string;
    let olga: string;
    const R = ACCESS_ROUTES;

    before(async () => {
      f = await openAccessFixture(backend);
      [alice, bob, olga] = [await f.login("alice"), await f.login("bob"), await f.login("olga")];
    });
    after(() => f?.close());

    test("an admin creates a group and a pool, fills them and lists them", async () => {
      assert.equal((await f.call("POST", R.groups, { token: alice, body: { name: "service-team" } })).status, 201);
      assert.equal((await f.call("POST", R.pools, { token: alice, body: { name: "line-3" } })).status, 201);
      const members = await f.call("POST", routePath(R.groupMembers, { name: "service-team" }), { token: alice, body: { add: ["bob", "carol", "bob"] } });
      assert.deepEqual(members.json.members, ["bob", "carol"]);
      const removed = await f.call("POST", routePath(R.groupMembers, { name: "service-team" }), { token: alice, body: { remove: ["carol"] } });
      assert.deepEqual(removed.json.members, ["bob"]);
      const pool = await f.call("POST", routePath(R.poolDevices, { name: "line-3" }), { token: alice, body: { add: ["press-7"] } });
      assert.deepEqual(pool.json.devices, ["press-7"]);
      const groups = await f.call("GET", R.groups, { token: alice });
      assert.deepEqual(
        groups.json.map((g: { name: string; members: string[] }) => [g.name, g.members]),
        [["service-team", ["bob"]]],
      );
      const pools = await f.call("GET", R.pools, { token: alice });
      assert.deepEqual(
        pools.json.map((p: { name: string; devices: string[] }) => [p.name, p.devices]),
        [["line-3", ["press-7"]]],
      );
      const again = await f.call("POST", R.groups, { token: alice, body: { name: "service-team" } });
      assert.equal(again.json.error.code, "conflict");
    });

    test("a grant stores its targets in canonical form and a second grant replaces the first", async () => {
      const first = await f.call("POST", R.accessRules, {
        token: alice,
        body: { group: "service-team", pool: "line-3", targets: ["192.168.1.10:502,80", "127.1", "PLC.local"] },
      });
      assert.equal(first.status, 201);
      assert.deepEqual(first.json.targets, ["192.168.1.10:80,502", "127.0.0.1", "plc.local"]);
      assert.equal(first.json.level, "connect");
      await f.call("POST", R.accessRules, { token: alice, body: { group: "service-team", pool: "line-3", level: "view" } });
      const list = await f.call("GET", R.accessRules, { token: alice });
      assert.deepEqual(
        list.json.map((r: { group: string; pool: string; level: string; targets: unknown }) => [r.group, r.pool, r.level, r.targets]),
        [["service-team", "line-3", "view", null]],
      );
      const actions = (await f.auditRows()).filter((r) => r.action === "access.grant").map((r) => r.object);
      assert.match(actions.at(-1) ?? "", /^service-team\/line-3: view, LAN ranges \(was: connect, targets /);
    });

    test("bad grants are refused as invalid input naming the field", async () => {
      const cases = [
        { group: "service-team", pool: "line-3", targets: ["10.0.0.0/33"] },
        { group: "service-team", pool: "line-3", targets: [] },
        { group: "service-team", pool: "line-3", level: "view", targets: ["10.0.0.1"] },
        { group: "service-team", pool: "line-3", level: "admin" },
        { group: "service-team", pool: "line-3", everything: true },
      ];
      for (const body of cases) {
        const res = await f.call("POST", R.accessRules, { token: alice, body });
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.json.error.code, "invalid-input");
      }
      const bad = await f.call("POST", R.accessRules, { token: alice, body: { group: "service-team", pool: "line-3", targets: ["ok.local", "10.0.0.0/33"] } });
      assert.match(bad.json.error.message, /targets\.1: .*"10\.0\.0\.0\/33"/);
    });

    test("names resolve within the caller's account only", async () => {
      const cases: [string, string, unknown][] = [
        ["GET", routePath(R.group, { name: "service-team" }), undefined],
        ["DELETE", routePath(R.pool, { name: "line-3" }), undefined],
        ["POST", R.accessRules, { group: "service-team", pool: "line-3" }],
        ["DELETE", routePath(R.accessRule, { group: "service-team", pool: "line-3" }), undefined],
      ];
      for (const [method, path, body] of cases) {
        const res = await f.call(method, path, { token: olga, ...(body ? { body } : {}) });
        assert.equal(res.json.error?.code, "not-found", `${method} ${path}`);
      }
      await f.call("POST", R.groups, { token: olga, body: { name: "olgas" } });
      await f.call("POST", R.pools, { token: olga, body: { name: "olgas" } });
      const user = await f.call("POST", routePath(R.groupMembers, { name: "olgas" }), { token: olga, body: { add: ["bob"] } });
      assert.equal(user.json.error.code, "not-found");
      const device = await f.call("POST", routePath(R.poolDevices, { name: "olgas" }), { token: olga, body: { add: ["press-7"] } });
      assert.equal(device.json.error.code, "not-found");
      assert.deepEqual(
        (await f.call("GET", R.groups, { token: olga })).json.map((g: { name: string }) => g.name),
        ["olgas"],
      );
    });

    test("a member gets 403 forbidden and an audit record on every admin route of groups, pools and rules", async () => {
      const attempts: [string, string, unknown, string][] = [
        ["GET", R.groups, undefined, "group.list"],
        ["POST", R.groups, { name: "mine" }, "group.add"],
        ["GET", routePath(R.group, { name: "service-team" }), undefined, "group.show"],
        ["DELETE", routePath(R.group, { name: "service-team" }), undefined, "group.remove"],
        ["POST", routePath(R.groupMembers, { name: "service-team" }), { add: ["carol"] }, "group.members"],
        ["GET", R.pools, undefined, "pool.list"],
        ["POST", R.pools, { name: "mine" }, "pool.add"],
        ["GET", routePath(R.pool, { name: "line-3" }), undefined, "pool.show"],
        ["DELETE", routePath(R.pool, { name: "line-3" }), undefined, "pool.remove"],
        ["POST", routePath(R.poolDevices, { name: "line-3" }), { add: ["press-8"] }, "pool.devices"],
        ["GET", R.accessRules, undefined, "access.list"],
        ["POST", R.accessRules, { group: "service-team", pool: "line-3", level: "connect" }, "access.grant"],
        ["DELETE", routePath(R.accessRule, { group: "service-team", pool: "line-3" }), undefined, "access.revoke"],
      ];
      for (const [method, path, body] of attempts) {
        const res = await f.call(method, path, { token: bob, ...(body ? { body } : {}) });
        assert.equal(res.status, 403, `${method} ${path}`);
        assert.equal(res.json.error.code, "forbidden", `${method} ${path}`);
      }
      const denied = (await f.auditRows()).filter((r) => r.actor === "bob" && r.result === "denied");
      for (const [, , , action] of attempts)
        assert.ok(
          denied.some((r) => r.action === action && /forbidden/.test(r.reason ?? "")),
          `audited: ${action}`,
        );
      // Nothing changed: the group still has its one member and the rule is still there.
      assert.deepEqual((await f.call("GET", routePath(R.group, { name: "service-team" }), { token: alice })).json.members, ["bob"]);
      assert.equal((await f.call("GET", R.accessRules, { token: alice })).json.length, 1);
    });

    test("revoking a rule that does not exist is not found; revoking one that does is audited", async () => {
      const missing = await f.call("DELETE", routePath(R.accessRule, { group: "service-team", pool: "nope" }), { token: alice });
      assert.equal(missing.json.error.code, "not-found");
      const ok = await f.call("DELETE", routePath(R.accessRule, { group: "service-team", pool: "line-3" }), { token: alice });
      assert.equal(ok.status, 200);
      const twice = await f.call("DELETE", routePath(R.accessRule, { group: "service-team", pool: "line-3" }), { token: alice });
      assert.equal(twice.json.error.code, "not-found");
      assert.ok((await f.auditRows()).some((r) => r.action === "access.revoke" && r.actor === "alice" && r.object === "service-team/line-3"));
    });

    test("removing a group takes its rules with it and says how many", async () => {
      await f.call("POST", R.accessRules, { token: alice, body: { group: "service-team", pool: "line-3" } });
      const res = await f.call("DELETE", routePath(R.group, { name: "service-team" }), { token: alice });
      assert.deepEqual(res.json, { ok: true, rulesRemoved: 1 });
      assert.deepEqual((await f.call("GET", R.accessRules, { token: alice })).json, []);
    });
  });
}
