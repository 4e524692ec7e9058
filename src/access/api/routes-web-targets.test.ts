import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ROUTES, routePath } from "../../protocol/api.js";
import { WebTargetInfo, WebTargetList } from "../../protocol/api-web-targets.js";
import { type AccessFixture, openAccessFixture } from "../access-rules-fixture.js";
import { TEST_BACKENDS } from "../access-test-kit.js";

const PASSWORD = "panel-pass-7";
const web = (device: string) => routePath(ROUTES.deviceWeb, { name: device });
const one = (device: string, target: string) => routePath(ROUTES.deviceWebTarget, { name: device, target });

for (const backend of TEST_BACKENDS) {
  describe(`web target routes on ${backend}`, () => {
    let f: AccessFixture;
    let alice: string;
    let bob: string;
    let carol: string;
    let olga: string;

    before(async () => {
      f = await openAccessFixture(backend);
      [alice, bob, carol, olga] = [await f.login("alice"), await f.login("bob"), await f.login("carol"), await f.login("olga")];
      // bob may view press-7 through a rule; carol has none.
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

    test("an admin adds an HMI page and a VNC panel with 201 and sees them listed without the password", async () => {
      const hmi = await f.call("POST", web("press-7"), { token: alice, body: { name: "hmi", url: "https://hmi.local/app/" } });
      assert.equal(hmi.status, 201, JSON.stringify(hmi.json));
      WebTargetInfo.parse(hmi.json);
      const vnc = await f.call("POST", web("press-7"), { token: alice, body: { name: "panel", url: "vnc://[fd00::5]", password: PASSWORD } });
      assert.equal(vnc.status, 201, JSON.stringify(vnc.json));
      assert.deepEqual([vnc.json.url, vnc.json.hasPassword, vnc.json.open], ["vnc://[fd00::5]:5900", true, `#/vnc/${vnc.json.id}`]);
      const list = await f.call("GET", web("press-7"), { token: alice });
      assert.equal(list.status, 200);
      WebTargetList.parse(list.json);
      assert.deepEqual(
        list.json.targets.map((t: WebTargetInfo) => [t.name, t.kind, t.url, t.hasPassword, t.open]),
        [
          ["hmi", "https", "https://hmi.local/app/", false, `/web/open/${hmi.json.id}`],
          ["panel", "vnc", "vnc://[fd00::5]:5900", true, `#/vnc/${vnc.json.id}`],
        ],
      );
      assert.ok(!JSON.stringify(list.json).includes(PASSWORD));
    });

    test("a member who may view the device lists its targets; one without a rule, and another account, get not-found", async () => {
      const seen = await f.call("GET", web("press-7"), { token: bob });
      assert.equal(seen.status, 200);
      assert.deepEqual(
        seen.json.targets.map((t: WebTargetInfo) => t.name),
        ["hmi", "panel"],
      );
      for (const [token, device] of [
        [carol, "press-7"],
        [bob, "press-8"],
        [olga, "press-7"],
        [alice, "nope"],
      ] as const) {
        const res = await f.call("GET", web(device), { token });
        assert.deepEqual([res.status, res.json.error?.code], [404, "not-found"], device);
        assert.match(res.json.error.message, new RegExp(`no such device "${device}"`));
      }
    });

    test("bad bodies are refused as invalid input naming the field, before anything is stored", async () => {
      const cases: [unknown, RegExp][] = [
        [{ name: "x", url: "ftp://hmi.local/" }, /^invalid request: url: web target URL "ftp:\/\/hmi\.local\/" uses "ftp:"/],
        [{ name: "x", url: "vnc://user:pw-in-url@panel" }, /url: web target URL "vnc:\/\/\*\*\*@panel" has credentials/],
        [{ name: "x", url: "https://hmi.local/", password: "p" }, /password: a password applies to vnc:\/\/ targets only/],
        [{ name: "x", url: "vnc://panel", password: "" }, /password: /],
        [{ name: "", url: "vnc://panel" }, /name: /],
        [{ name: " padded", url: "vnc://panel" }, /name: no white space at the start or the end/],
        [{ name: "tab\there", url: "vnc://panel" }, /name: use printable characters only/],
        [{ name: "x".repeat(65), url: "vnc://panel" }, /name: /],
        [{ name: "x", url: "vnc://panel", extra: 1 }, /extra/],
        [{ name: "x" }, /url: /],
      ];
      for (const [body, message] of cases) {
        const res = await f.call("POST", web("press-7"), { token: alice, body });
        assert.deepEqual([res.status, res.json.error?.code], [400, "invalid-input"], JSON.stringify(body));
        assert.match(res.json.error.message, message);
      }
      const leak = await f.call("POST", web("press-7"), { token: alice, body: { name: "x", url: "vnc://user:pw-in-url@panel" } });
      assert.ok(!JSON.stringify(leak.json).includes("pw-in-url"));
      assert.equal((await f.call("GET", web("press-7"), { token: alice })).json.targets.length, 2);
    });

    test("a second target of the same name on the device is a conflict; on another device it is fine", async () => {
      const again = await f.call("POST", web("press-7"), { token: alice, body: { name: "hmi", url: "http://192.168.1.11/" } });
      assert.deepEqual([again.status, again.json.error?.code], [409, "conflict"]);
      const other = await f.call("POST", web("press-8"), { token: alice, body: { name: "hmi", url: "http://192.168.2.11/" } });
      assert.equal(other.status, 201);
    });

    test("members are refused with 403 before the body is read, and the refusal is audited", async () => {
      const add = await f.call("POST", web("press-7"), { token: bob, body: { name: "mine", url: "http://192.168.1.10/" } });
      assert.deepEqual([add.status, add.json.error?.code], [403, "forbidden"]);
      const malformed = await f.app.request(web("press-7"), {
        method: "POST",
        headers: { authorization: `Bearer ${bob}`, "content-type": "application/json" },
        body: "{ not json",
      });
      assert.equal(malformed.status, 403);
      const remove = await f.call("DELETE", one("press-7", "hmi"), { token: bob });
      assert.deepEqual([remove.status, remove.json.error?.code], [403, "forbidden"]);
      const denied = (await f.auditRows())
        .filter((r) => r.actor === "bob" && r.result === "denied" && r.action !== "web-target.list")
        .map((r) => [r.action, r.object]);
      assert.deepEqual(denied, [
        ["web-target.add", "press-7"],
        ["web-target.add", "press-7"],
        ["web-target.remove", "press-7/hmi"],
      ]);
    });

    test("an admin removes a target by name (URL-encoded); a missing one is not found; the audit holds no password", async () => {
      const spaced = await f.call("POST", web("press-7"), { token: alice, body: { name: "line 3 overview", url: "http://192.168.1.12:8080/overview" } });
      assert.equal(spaced.status, 201);
      assert.equal((await f.call("DELETE", one("press-7", "line 3 overview"), { token: alice })).status, 200);
      assert.equal((await f.call("DELETE", one("press-7", "panel"), { token: alice })).status, 200);
      const missing = await f.call("DELETE", one("press-7", "panel"), { token: alice });
      assert.deepEqual([missing.status, missing.json.error?.code], [404, "not-found"]);
      const olgas = await f.call("DELETE", one("press-7", "hmi"), { token: olga });
      assert.deepEqual([olgas.status, olgas.json.error?.code], [404, "not-found"]);
      assert.deepEqual(
        (await f.call("GET", web("press-7"), { token: alice })).json.targets.map((t: WebTargetInfo) => t.name),
        ["hmi"],
      );
      const audit = await f.auditRows();
      assert.ok(!JSON.stringify(audit).includes(PASSWORD));
      assert.deepEqual(
        audit.filter((r) => r.action === "web-target.remove" && r.result === "ok").map((r) => r.object),
        ["press-7/line 3 overview", "press-7/panel"],
      );
    });

    test("removing the device removes its web targets", async () => {
      assert.equal((await f.call("DELETE", routePath(ROUTES.device, { name: "press-8" }), { token: alice })).status, 200);
      const left = await f.access.ctx.db.selectFrom("web_targets").select("name").where("device_id", "=", f.devices.press8.id).execute();
      assert.deepEqual(left, []);
    });

    test("removing a target cuts the streams its open pages and panels hold, and no others", async () => {
      const added = await f.call("POST", web("press-7"), { token: alice, body: { name: "doomed", url: "http://192.168.1.30/" } });
      assert.equal(added.status, 201, JSON.stringify(added.json));
      const acme = f.access.ctx;
      const grant = {
        accountId: f.devices.press7.account_id,
        userId: "u",
        userName: "alice",
        sessionId: "s",
        deviceId: f.devices.press7.id,
        deviceName: "press-7",
        lastSeen: null,
        allowedTargets: [],
      };
      const stream = (streamId: string, via?: string) => ({
        streamId,
        request: { token: "t", device: "press-7", target: { host: "192.168.1.30", port: 80 }, source: "test", ...(via ? { via } : {}) },
        grant,
        startedAt: acme.now(),
        bytesUp: 0,
        bytesDown: 0,
      });
      f.access.live.streams.push(stream("page", `web-target:${added.json.id}`), stream("cli"), stream("other-target", "web-target:aaaaaaaaaaaa"));
      assert.equal((await f.call("DELETE", one("press-7", "doomed"), { token: alice })).status, 200);
      assert.deepEqual(f.access.live.streams.map((s) => s.streamId).sort(), ["cli", "other-target"]);
      f.access.live.streams.length = 0;
    });
  });
}
