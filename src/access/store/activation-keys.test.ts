import assert from "node:assert/strict";
import { consumeActivationKey, createActivationKey } from "./activation-keys.js";
import { createDevice } from "./devices.js";
import type { Device } from "./schema.js";
import type { Store } from "./store.js";
import type { StoreCase } from "./store-fixture.js";
import { at, newAccount, T0, testOnEveryBackend, uniqueName } from "./store-fixture.js";

async function newDevice(store: Store): Promise<Device> {
  const account = await newAccount(store);
  return createDevice(store.db, { accountId: account.id, name: "plc", lan: [], now: T0 });
}

async function newKey(store: Store, device: Device, expiresAt: Date, now = T0): Promise<string> {
  const keyHash = uniqueName("key");
  await createActivationKey(store.db, { deviceId: device.id, keyHash, now, expiresAt });
  return keyHash;
}

const cases: StoreCase[] = [
  {
    name: "an activation key is consumed by exactly one of ten concurrent calls",
    async run({ store }) {
      const device = await newDevice(store);
      const keyHash = await newKey(store, device, at(60));
      const results = await Promise.all(Array.from({ length: 10 }, () => consumeActivationKey(store.db, keyHash, at(1))));
      assert.deepEqual(
        results.filter((r) => r.ok),
        [{ ok: true, deviceId: device.id }],
      );
      assert.ok(results.every((r) => r.ok || r.reason === "used"));
    },
  },
  {
    name: "a used key is refused as used, naming its device",
    async run({ store }) {
      const device = await newDevice(store);
      const keyHash = await newKey(store, device, at(60));
      assert.equal((await consumeActivationKey(store.db, keyHash, at(1))).ok, true);
      assert.deepEqual(await consumeActivationKey(store.db, keyHash, at(2)), { ok: false, reason: "used", deviceId: device.id });
    },
  },
  {
    name: "a key is refused as expired from its expiry time on",
    async run({ store }) {
      const device = await newDevice(store);
      const keyHash = await newKey(store, device, at(60));
      assert.deepEqual(await consumeActivationKey(store.db, keyHash, at(60)), { ok: false, reason: "expired", deviceId: device.id });
      assert.deepEqual(await consumeActivationKey(store.db, keyHash, at(61)), { ok: false, reason: "expired", deviceId: device.id });
    },
  },
  {
    name: "a new key for a device cancels its earlier unused key, which is then refused as replaced",
    async run({ store }) {
      const device = await newDevice(store);
      const first = await newKey(store, device, at(3600));
      const second = await newKey(store, device, at(3610), at(10));
      assert.deepEqual(await consumeActivationKey(store.db, first, at(11)), { ok: false, reason: "replaced", deviceId: device.id });
      assert.deepEqual(await consumeActivationKey(store.db, second, at(12)), { ok: true, deviceId: device.id });
    },
  },
  {
    name: "a new key leaves another device's key valid",
    async run({ store }) {
      const device = await newDevice(store);
      const other = await newDevice(store);
      const kept = await newKey(store, device, at(3600));
      await newKey(store, other, at(3610), at(10));
      assert.deepEqual(await consumeActivationKey(store.db, kept, at(11)), { ok: true, deviceId: device.id });
    },
  },
  {
    name: "a key never issued is refused as unknown",
    async run({ store }) {
      assert.deepEqual(await consumeActivationKey(store.db, "never-issued", at(1)), { ok: false, reason: "unknown" });
    },
  },
  {
    name: "a key for a missing device fails with not-found",
    async run({ store }) {
      const input = { deviceId: "missing", keyHash: uniqueName("key"), now: T0, expiresAt: at(60) };
      await assert.rejects(createActivationKey(store.db, input), { code: "not-found" });
    },
  },
];

testOnEveryBackend(cases);
