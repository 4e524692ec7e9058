import assert from "node:assert/strict";
import { createActivationKey } from "./activation-keys.js";
import { findCertificate, recordCertificate, revokeDeviceCertificates } from "./certificates.js";
import { createDevice, deviceLan, findDeviceByName, getDevice, listDevices, markDeviceSeen, removeDevice, setDeviceCertificate } from "./devices.js";
import { createSession } from "./sessions.js";
import type { StoreCase } from "./store-fixture.js";
import { at, newAccount, T0, testOnEveryBackend, uniqueName } from "./store-fixture.js";
import { createUser } from "./users.js";

const cases: StoreCase[] = [
  {
    name: "a device name is unique within an account but free in another",
    async run({ store }) {
      const account = await newAccount(store);
      const input = { accountId: account.id, name: "press-1", lan: [], now: T0 };
      await createDevice(store.db, input);
      await assert.rejects(createDevice(store.db, input), { code: "conflict" });
      const other = await newAccount(store);
      await createDevice(store.db, { ...input, accountId: other.id });
    },
  },
  {
    name: "devices are listed in natural name order, the same on every database",
    async run({ store }) {
      const account = await newAccount(store);
      for (const name of ["press-10", "b", "press-7", "A", "a-2", "press-100"]) {
        await createDevice(store.db, { accountId: account.id, name, lan: [], now: T0 });
      }
      const names = (await listDevices(store.db, account.id)).map((d) => d.name);
      assert.deepEqual(names, ["A", "a-2", "b", "press-7", "press-10", "press-100"]);
    },
  },
  {
    name: "device names are unique and found regardless of case",
    async run({ store }) {
      const account = await newAccount(store);
      const device = await createDevice(store.db, { accountId: account.id, name: "Press-7", lan: [], now: T0 });
      await assert.rejects(createDevice(store.db, { accountId: account.id, name: "press-7", lan: [], now: T0 }), { code: "conflict" });
      assert.equal((await findDeviceByName(store.db, account.id, "PRESS-7"))?.id, device.id);
      const other = await newAccount(store);
      await createDevice(store.db, { accountId: other.id, name: "press-7", lan: [], now: T0 });
    },
  },
  {
    name: "a device keeps its LAN list, last sighting and certificate serial",
    async run({ store }) {
      const { db } = store;
      const account = await newAccount(store);
      const lan = ["10.0.0.0/24", "192.168.1.0/24"];
      const device = await createDevice(db, { accountId: account.id, name: "plc", lan, now: T0 });
      assert.deepEqual(deviceLan(device), lan);
      await markDeviceSeen(db, device.id, { at: at(5), address: "203.0.113.9", relayId: "relay-1" });
      await setDeviceCertificate(db, device.id, "serial-1");
      const seen = await getDevice(db, device.id);
      assert.equal(seen?.last_seen, at(5).toISOString());
      assert.equal(seen?.last_address, "203.0.113.9");
      assert.equal(seen?.relay_id, "relay-1");
      assert.equal(seen?.cert_serial, "serial-1");
      await setDeviceCertificate(db, device.id, null);
      assert.equal((await findDeviceByName(db, account.id, "plc"))?.cert_serial, null);
      assert.deepEqual(deviceLan(seen ?? device), lan);
    },
  },
  {
    name: "removing a device removes its activation keys",
    async run({ store }) {
      const { db } = store;
      const account = await newAccount(store);
      const device = await createDevice(db, { accountId: account.id, name: "plc", lan: [], now: T0 });
      await createActivationKey(db, { deviceId: device.id, keyHash: uniqueName("key"), now: T0, expiresAt: at(60) });
      assert.equal(await removeDevice(db, device.id), true);
      assert.equal(await removeDevice(db, device.id), false);
      const keys = await db.selectFrom("activation_keys").select("id").where("device_id", "=", device.id).execute();
      assert.deepEqual(keys, []);
    },
  },
  {
    name: "removing an account removes its users, sessions and devices",
    async run({ store }) {
      const { db } = store;
      const account = await newAccount(store);
      const user = await createUser(db, { accountId: account.id, name: "ada", passwordHash: "h", role: "admin", now: T0 });
      const session = await createSession(db, { userId: user.id, tokenHash: uniqueName("t"), now: T0, expiresAt: at(60) });
      const device = await createDevice(db, { accountId: account.id, name: "plc", lan: [], now: T0 });
      await db.deleteFrom("accounts").where("id", "=", account.id).execute();
      assert.equal(await db.selectFrom("users").select("id").where("id", "=", user.id).executeTakeFirst(), undefined);
      assert.equal(await db.selectFrom("sessions").select("id").where("id", "=", session.id).executeTakeFirst(), undefined);
      assert.equal(await getDevice(db, device.id), undefined);
    },
  },
  {
    name: "a certificate revocation survives the removal of its device",
    async run({ store }) {
      const { db } = store;
      const account = await newAccount(store);
      const device = await createDevice(db, { accountId: account.id, name: "plc", lan: [], now: T0 });
      const serial = uniqueName("serial");
      await recordCertificate(db, { serial, deviceId: device.id, issuedAt: T0, notAfter: at(3600) });
      await recordCertificate(db, { serial: uniqueName("serial"), deviceId: device.id, issuedAt: T0, notAfter: at(3600) });
      assert.equal(await revokeDeviceCertificates(db, device.id, at(10)), 2);
      assert.equal(await revokeDeviceCertificates(db, device.id, at(20)), 0);
      await removeDevice(db, device.id);
      assert.deepEqual(await findCertificate(db, serial), {
        serial,
        device_id: device.id,
        issued_at: T0.toISOString(),
        not_after: at(3600).toISOString(),
        revoked_at: at(10).toISOString(),
      });
      assert.equal(await findCertificate(db, "never-issued"), undefined);
    },
  },
];

testOnEveryBackend(cases);
