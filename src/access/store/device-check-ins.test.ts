import assert from "node:assert/strict";
import { findCheckIn, recordCheckIn, wantDevice } from "./device-check-ins.js";
import { createDevice, removeDevice } from "./devices.js";
import type { StoreCase } from "./store-fixture.js";
import { at, newAccount, T0, testOnEveryBackend } from "./store-fixture.js";

const cases: StoreCase[] = [
  {
    name: "a check-in records the interval and time; a wish is kept across check-ins and never shortened",
    async run({ store }) {
      const account = await newAccount(store);
      const device = await createDevice(store.db, { accountId: account.id, name: "press-7", lan: [], now: T0 });
      assert.equal(await findCheckIn(store.db, device.id), undefined);
      const first = await recordCheckIn(store.db, { deviceId: device.id, intervalSeconds: 300, now: at(0) });
      assert.deepEqual(first, { deviceId: device.id, intervalSeconds: 300, checkedInAt: at(0).toISOString(), wantedUntil: null });
      await wantDevice(store.db, device.id, at(400));
      await wantDevice(store.db, device.id, at(100));
      const second = await recordCheckIn(store.db, { deviceId: device.id, intervalSeconds: 120, now: at(300) });
      assert.deepEqual(second, { deviceId: device.id, intervalSeconds: 120, checkedInAt: at(300).toISOString(), wantedUntil: at(400).toISOString() });
      await wantDevice(store.db, device.id, at(900));
      assert.equal((await findCheckIn(store.db, device.id))?.wantedUntil, at(900).toISOString());
    },
  },
  {
    name: "a device asked for before it ever checked in sees the wish on its first check-in; removal takes the row",
    async run({ store }) {
      const account = await newAccount(store);
      const device = await createDevice(store.db, { accountId: account.id, name: "press-8", lan: [], now: T0 });
      await wantDevice(store.db, device.id, at(60));
      const row = await recordCheckIn(store.db, { deviceId: device.id, intervalSeconds: 300, now: at(10) });
      assert.equal(row.wantedUntil, at(60).toISOString());
      await removeDevice(store.db, device.id);
      assert.equal(await findCheckIn(store.db, device.id), undefined);
    },
  },
];

testOnEveryBackend(cases);
