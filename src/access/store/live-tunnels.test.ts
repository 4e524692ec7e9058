import assert from "node:assert/strict";
import { createDevice, removeDevice } from "./devices.js";
import { beatLiveTunnels, claimStaleTunnels, dropLiveTunnel, dropRelayTunnels, listLiveTunnels, pruneLiveTunnels, putLiveTunnel } from "./live-tunnels.js";
import type { Backend, StoreCase } from "./store-fixture.js";
import { at, newAccount, T0, testOnEveryBackend, uniqueName } from "./store-fixture.js";

async function twoDevices({ store }: Backend) {
  const account = await newAccount(store);
  const press = await createDevice(store.db, { accountId: account.id, name: "press-7", lan: [], now: T0 });
  const mill = await createDevice(store.db, { accountId: account.id, name: "mill-3", lan: [], now: T0 });
  return { account, press, mill };
}

const cases: StoreCase[] = [
  {
    name: "a tunnel put by a relay is listed with its device's account and name while its heartbeat is fresh",
    async run(backend) {
      const { db } = backend.store;
      const { account, press } = await twoDevices(backend);
      await putLiveTunnel(db, { deviceId: press.id, relayId: "relay-a", address: "203.0.113.9", since: at(0), now: at(1) });
      assert.deepEqual(await listLiveTunnels(db, at(1), account.id), [
        {
          deviceId: press.id,
          accountId: account.id,
          deviceName: "press-7",
          relayId: "relay-a",
          address: "203.0.113.9",
          since: at(0).toISOString(),
          heartbeatAt: at(1).toISOString(),
        },
      ]);
      assert.deepEqual(await listLiveTunnels(db, at(2), account.id), [], "a heartbeat older than the cut-off reads as offline");
      const other = await newAccount(backend.store);
      assert.deepEqual(await listLiveTunnels(db, at(0), other.id), [], "another account sees none of it");
    },
  },
  {
    name: "a heartbeat keeps every tunnel of its relay fresh and counts them",
    async run(backend) {
      const { db } = backend.store;
      const { account, press, mill } = await twoDevices(backend);
      const relay = uniqueName("relay");
      await putLiveTunnel(db, { deviceId: press.id, relayId: relay, address: "a", since: at(0), now: at(0) });
      await putLiveTunnel(db, { deviceId: mill.id, relayId: "relay-b", address: "b", since: at(0), now: at(0) });
      assert.equal(await beatLiveTunnels(db, relay, at(10)), 1);
      assert.deepEqual(
        (await listLiveTunnels(db, at(5), account.id)).map((t) => t.deviceName),
        ["press-7"],
      );
      assert.ok((await pruneLiveTunnels(db, at(5))) >= 1, "the stale row is deleted");
      assert.deepEqual(
        (await listLiveTunnels(db, at(0), account.id)).map((t) => t.deviceName),
        ["press-7"],
      );
    },
  },
  {
    name: "a device that moves to another relay is not dropped by the relay it left",
    async run(backend) {
      const { db } = backend.store;
      const { account, press } = await twoDevices(backend);
      await putLiveTunnel(db, { deviceId: press.id, relayId: "relay-a", address: "a", since: at(0), now: at(0) });
      await putLiveTunnel(db, { deviceId: press.id, relayId: "relay-b", address: "b", since: at(3), now: at(3) });
      await dropLiveTunnel(db, press.id, "relay-a");
      const [row] = await listLiveTunnels(db, at(0), account.id);
      assert.equal(row?.relayId, "relay-b");
      assert.equal(row?.address, "b");
      await dropLiveTunnel(db, press.id, "relay-b");
      assert.deepEqual(await listLiveTunnels(db, at(0), account.id), []);
    },
  },
  {
    name: "a relay shutting down drops its tunnels, and a removed device takes its row with it",
    async run(backend) {
      const { db } = backend.store;
      const { account, press, mill } = await twoDevices(backend);
      await putLiveTunnel(db, { deviceId: press.id, relayId: "relay-a", address: "a", since: at(0), now: at(0) });
      await putLiveTunnel(db, { deviceId: mill.id, relayId: "relay-b", address: "b", since: at(0), now: at(0) });
      await dropRelayTunnels(db, "relay-b");
      assert.deepEqual(
        (await listLiveTunnels(db, at(0), account.id)).map((t) => t.deviceName),
        ["press-7"],
      );
      await removeDevice(db, press.id);
      assert.deepEqual(await listLiveTunnels(db, at(0), account.id), []);
    },
  },
  {
    name: "stale rows of a dead relay are claimed once among concurrent claims, while fresh rows and the claimer's own stay",
    async run(backend) {
      const { db } = backend.store;
      const { press, mill } = await twoDevices(backend);
      const dead = uniqueName("relay");
      const mine = uniqueName("relay");
      const account = await newAccount(backend.store);
      const lathe = await createDevice(db, { accountId: account.id, name: "lathe-1", lan: [], now: T0 });
      await putLiveTunnel(db, { deviceId: press.id, relayId: dead, address: "203.0.113.9", since: at(0), now: at(1) });
      await putLiveTunnel(db, { deviceId: lathe.id, relayId: mine, address: "c", since: at(0), now: at(1) });
      await putLiveTunnel(db, { deviceId: mill.id, relayId: dead, address: "b", since: at(0), now: at(1) });
      // mill-3 came back on another relay before the claim: its one row is fresh now.
      await putLiveTunnel(db, { deviceId: mill.id, relayId: "relay-b", address: "b", since: at(20), now: at(20) });
      const ours = new Set([press.id, mill.id, lathe.id]);
      const claims = await Promise.all([1, 2, 3].map(() => claimStaleTunnels(db, at(15), [mine])));
      const claimed = claims.flat().filter((r) => ours.has(r.deviceId));
      assert.deepEqual(claimed, [{ deviceId: press.id, relayId: dead, address: "203.0.113.9", heartbeatAt: at(1).toISOString() }]);
      const left = (await listLiveTunnels(db, at(0))).filter((t) => ours.has(t.deviceId)).map((t) => `${t.deviceName}@${t.relayId}`);
      assert.deepEqual(left.sort(), [`lathe-1@${mine}`, "mill-3@relay-b"]);
    },
  },
];

testOnEveryBackend(cases);
