import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "./access-test-kit.js";
import type { ChangeEvent } from "./change-feed.js";
import { recordSwitch } from "./device-switch.js";
import { createAccount } from "./store/accounts.js";
import { createDevice, getDevice } from "./store/devices.js";

for (const backend of TEST_BACKENDS) {
  describe(`key switch reports on ${backend}`, () => {
    let t: TestAccess;
    let agent: { deviceId: string; accountId: string; deviceName: string; certSerial: string };
    before(async () => {
      t = await openTestAccess(backend);
      const account = await createAccount(t.ctx.db, { name: "acme", now: t.ctx.now() });
      const device = await createDevice(t.ctx.db, { accountId: account.id, name: "press-7", lan: [], now: t.ctx.now() });
      agent = { deviceId: device.id, accountId: account.id, deviceName: device.name, certSerial: "01" };
    });
    after(() => t.close());

    const switchRecords = async () =>
      (
        await t.ctx.db
          .selectFrom("audit")
          .select(["action", "object", "device", "reason", "source"])
          .where("action", "=", "device.switch")
          .orderBy("seq")
          .execute()
      ).map((r) => r.reason);

    it("stores a device's first remote without an audit record: that is how it always behaved", async () => {
      assert.deepEqual(await recordSwitch(t.ctx, agent, "remote", "192.0.2.7"), { state: "remote", changed: true });
      await t.ctx.work.drain(5_000);
      assert.equal((await getDevice(t.ctx.db, agent.deviceId))?.switch_state, "remote");
      assert.deepEqual(await switchRecords(), []);
    });

    it("audits each turn once with the old and new position, stores it and tells the portal", async () => {
      const events: ChangeEvent[] = [];
      const stop = t.ctx.changes.subscribe(agent.accountId, { onChange: (e) => events.push(e) });
      t.advance(1_000);
      assert.equal((await recordSwitch(t.ctx, agent, "online", "192.0.2.7")).changed, true);
      assert.equal((await recordSwitch(t.ctx, agent, "online", "192.0.2.7")).changed, false);
      await recordSwitch(t.ctx, agent, "off", "192.0.2.7");
      await t.ctx.work.drain(5_000);
      stop();
      assert.deepEqual(await switchRecords(), ["key switch remote -> online", "key switch online -> off"]);
      const device = await getDevice(t.ctx.db, agent.deviceId);
      assert.equal(device?.switch_state, "off");
      assert.equal(device?.switch_at, t.ctx.now().toISOString());
      assert.equal(events.filter((e) => e.kind === "devices").length, 2);
    });
  });
}
