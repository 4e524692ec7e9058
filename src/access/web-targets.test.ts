import assert from "node:assert/strict";
import { createSecretKey, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { type AccessFixture, openAccessFixture } from "./access-rules-fixture.js";
import { TEST_BACKENDS } from "./access-test-kit.js";
import type { Principal } from "./context.js";
import { addWebTarget, findWebTarget, listDeviceWebTargets, removeDeviceWebTarget } from "./web-targets.js";

const PASSWORD = "vnc-Secret-42";

for (const backend of TEST_BACKENDS) {
  describe(`web targets on ${backend}`, () => {
    let f: AccessFixture;
    const principal = (user: "alice" | "bob" | "carol" | "olga"): Principal => {
      const u = f.users[user];
      return {
        accountId: u.account_id,
        accountName: user === "olga" ? "other" : "acme",
        userId: u.id,
        userName: u.name,
        role: u.role,
        sessionId: "s",
        expiresAt: null,
        source: "192.0.2.1",
      };
    };

    before(async () => {
      f = await openAccessFixture(backend);
      // bob may view press-7 (not press-8); carol has no rule.
      const alice = await f.login("alice");
      for (const [path, body] of [
        ["/api/v1/groups", { name: "viewers" }],
        ["/api/v1/pools", { name: "line-3" }],
        ["/api/v1/groups/viewers/members", { add: ["bob"] }],
        ["/api/v1/pools/line-3/devices", { add: ["press-7"] }],
        ["/api/v1/access-rules", { group: "viewers", pool: "line-3", level: "view" }],
      ] as const) {
        const res = await f.call("POST", path, { token: alice, body });
        assert.ok(res.status < 300, JSON.stringify(res.json));
      }
    });
    after(() => f?.close());

    test("an admin publishes an HMI page and a VNC panel; both are listed by name with canonical URLs", async () => {
      const { ctx } = f.access;
      const hmi = await addWebTarget(ctx, principal("alice"), "press-7", { name: "main hmi", url: "HTTP://192.168.1.10:80" });
      const vnc = await addWebTarget(ctx, principal("alice"), "press-7", { name: "panel", url: "vnc://192.168.1.20", password: PASSWORD });
      assert.deepEqual(hmi, { id: hmi.id, name: "main hmi", kind: "http", url: "http://192.168.1.10/", hasPassword: false, open: `/web/open/${hmi.id}` });
      assert.deepEqual(vnc, { id: vnc.id, name: "panel", kind: "vnc", url: "vnc://192.168.1.20:5900", hasPassword: true, open: `#/vnc/${vnc.id}` });
      assert.match(hmi.id, /^[a-z2-7]{12}$/);
      assert.deepEqual(await listDeviceWebTargets(ctx, principal("alice"), "press-7"), { targets: [hmi, vnc] });
      assert.deepEqual(await listDeviceWebTargets(ctx, principal("bob"), "press-7"), { targets: [hmi, vnc] }, "a member with view sees them");
    });

    test("the proxy finds a target by id with its device and the VNC password opened", async () => {
      const { ctx } = f.access;
      const [hmi, vnc] = (await listDeviceWebTargets(ctx, principal("alice"), "press-7")).targets;
      assert.deepEqual(await findWebTarget(ctx, vnc!.id), {
        id: vnc!.id,
        accountId: f.devices.press7.account_id,
        deviceId: f.devices.press7.id,
        deviceName: "press-7",
        name: "panel",
        kind: "vnc",
        host: "192.168.1.20",
        port: 5900,
        path: null,
        password: PASSWORD,
      });
      const page = await findWebTarget(ctx, hmi!.id);
      assert.equal(page?.path, "/");
      assert.equal(page !== undefined && "password" in page, false, "no password key when there is none");
      for (const id of ["aaaaaaaaaaaa", "", "../../etc", hmi!.id.toUpperCase(), `${hmi!.id}x`]) assert.equal(await findWebTarget(ctx, id), undefined, id);
    });

    test("the VNC password is stored sealed and appears in no audit record", async () => {
      const { ctx } = f.access;
      const rows = await ctx.db.selectFrom("web_targets").selectAll().execute();
      assert.ok(rows.some((r) => r.secret !== null));
      assert.ok(!JSON.stringify(rows).includes(PASSWORD));
      const audit = await f.auditRows();
      assert.ok(!JSON.stringify(audit).includes(PASSWORD));
      const added = audit.filter((r) => r.action === "web-target.add").map((r) => [r.actor, r.object, r.device, r.result]);
      assert.deepEqual(added, [
        ["alice", "press-7/main hmi: http://192.168.1.10/", "press-7", "ok"],
        ["alice", "press-7/panel: vnc://192.168.1.20:5900 with password", "press-7", "ok"],
      ]);
    });

    test("a password sealed under another key is an internal error naming the key file, not the password", async () => {
      const { ctx } = f.access;
      const vnc = (await listDeviceWebTargets(ctx, principal("alice"), "press-7")).targets.find((t) => t.kind === "vnc")!;
      await assert.rejects(findWebTarget({ ...ctx, secretKey: createSecretKey(randomBytes(32)) }, vnc.id), (err: Error & { code?: string }) => {
        assert.equal(err.code, "internal");
        assert.match(err.message, /secret-key/);
        assert.ok(!err.message.includes(PASSWORD));
        return true;
      });
    });

    test("bad additions are refused: duplicate name, bad URL, a password on an HMI page", async () => {
      const { ctx } = f.access;
      const alice = principal("alice");
      await assert.rejects(addWebTarget(ctx, alice, "press-7", { name: "panel", url: "vnc://192.168.1.21" }), {
        code: "conflict",
        message: /device "press-7" already has a web target "panel"/,
      });
      await assert.rejects(addWebTarget(ctx, alice, "press-7", { name: "x", url: "ftp://192.168.1.10/" }), {
        code: "invalid-input",
        message: /only http:\/\/, https:\/\/ and vnc:\/\//,
      });
      await assert.rejects(addWebTarget(ctx, alice, "press-7", { name: "x", url: "https://hmi.local/", password: PASSWORD }), {
        code: "invalid-input",
        message: /vnc:\/\/ targets only/,
      });
      await assert.rejects(addWebTarget(ctx, alice, "nope", { name: "x", url: "https://hmi.local/" }), { code: "not-found" });
      assert.equal((await listDeviceWebTargets(ctx, alice, "press-7")).targets.length, 2);
    });

    test("a member without a rule, and another account, find no device; members may not add or remove", async () => {
      const { ctx } = f.access;
      await assert.rejects(listDeviceWebTargets(ctx, principal("carol"), "press-7"), { code: "not-found", message: /no such device "press-7"/ });
      await assert.rejects(listDeviceWebTargets(ctx, principal("bob"), "press-8"), { code: "not-found" });
      await assert.rejects(listDeviceWebTargets(ctx, principal("olga"), "press-7"), { code: "not-found" });
      await assert.rejects(addWebTarget(ctx, principal("bob"), "press-7", { name: "mine", url: "http://192.168.1.10/" }), { code: "forbidden" });
      await assert.rejects(removeDeviceWebTarget(ctx, principal("bob"), "press-7", "panel"), { code: "forbidden" });
      await assert.rejects(removeDeviceWebTarget(ctx, principal("olga"), "press-7", "panel"), { code: "not-found" });
      const denied = (await f.auditRows()).filter((r) => r.result === "denied" && r.action.startsWith("web-target.")).map((r) => [r.actor, r.action, r.object]);
      assert.deepEqual(denied, [
        ["carol", "web-target.list", "press-7"],
        ["bob", "web-target.list", "press-8"],
        ["bob", "web-target.add", "press-7"],
        ["bob", "web-target.remove", "press-7/panel"],
      ]);
    });

    test("an admin removes a target by name; removing it again is not found", async () => {
      const { ctx } = f.access;
      const alice = principal("alice");
      const vnc = (await listDeviceWebTargets(ctx, alice, "press-7")).targets.find((t) => t.name === "panel")!;
      await removeDeviceWebTarget(ctx, alice, "press-7", "panel");
      await assert.rejects(removeDeviceWebTarget(ctx, alice, "press-7", "panel"), { code: "not-found", message: /device "press-7" has no web target "panel"/ });
      assert.equal(await findWebTarget(ctx, vnc.id), undefined);
      assert.deepEqual(
        (await listDeviceWebTargets(ctx, alice, "press-7")).targets.map((t) => t.name),
        ["main hmi"],
      );
      const removed = (await f.auditRows()).filter((r) => r.action === "web-target.remove" && r.result === "ok").map((r) => r.object);
      assert.deepEqual(removed, ["press-7/panel"]);
    });
  });
}
