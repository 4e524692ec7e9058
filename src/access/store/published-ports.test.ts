import assert from "node:assert/strict";
import { FernlinkError } from "../../protocol/errors.js";
import { createDevice, removeDevice } from "./devices.js";
import {
  createPublishedPort,
  findPublishedPort,
  listActivePublishedPorts,
  listPublishedPorts,
  type NewPublishedPort,
  removePublishedPort,
  setPublishedPortState,
} from "./published-ports.js";
import type { Store } from "./store.js";
import type { StoreCase } from "./store-fixture.js";
import { newAccount, T0, testOnEveryBackend } from "./store-fixture.js";
import { createUser } from "./users.js";

async function setup(store: Store) {
  const account = await newAccount(store);
  const device = await createDevice(store.db, { accountId: account.id, name: "press-7", lan: [], now: T0 });
  const user = await createUser(store.db, { accountId: account.id, name: "alice", passwordHash: "x", role: "admin", now: T0 });
  const job = (name: string, port: number, protocol: NewPublishedPort["protocol"] = "tcp"): NewPublishedPort => ({
    accountId: account.id,
    deviceId: device.id,
    ownerId: user.id,
    name,
    port,
    targetHost: "192.168.1.10",
    targetPort: 502,
    protocol,
    allowFrom: ["127.0.0.1/32", "10.0.0.0/8"],
    logData: true,
    origin: "service",
    now: T0,
  });
  return { account, device, user, job };
}

const cases: StoreCase[] = [
  {
    name: "a published port keeps its fields and is listed with its device's and owner's names",
    async run({ store }) {
      const { account, job } = await setup(store);
      const created = await createPublishedPort(store.db, job("modbus", 15020));
      assert.equal(created.state, "active");
      const found = await findPublishedPort(store.db, account.id, "modbus");
      assert.equal(found?.device_name, "press-7");
      assert.equal(found?.owner_name, "alice");
      assert.equal(found?.allow_from, "127.0.0.1/32 10.0.0.0/8");
      assert.equal(found?.log_data, 1);
      assert.equal(found?.protocol, "tcp");
      assert.deepEqual(
        (await listPublishedPorts(store.db, account.id)).map((p) => p.name),
        ["modbus"],
      );
    },
  },
  {
    name: "a UDP port keeps its protocol",
    async run({ store }) {
      const { account, job } = await setup(store);
      await createPublishedPort(store.db, job("dns", 15053, "udp"));
      assert.equal((await findPublishedPort(store.db, account.id, "dns"))?.protocol, "udp");
    },
  },
  {
    name: "a port is published once, for one protocol, a name once per account",
    async run({ store }) {
      const { job } = await setup(store);
      await createPublishedPort(store.db, job("a", 15021));
      await assert.rejects(createPublishedPort(store.db, job("b", 15021)), (e: unknown) => e instanceof FernlinkError && e.code === "conflict");
      await assert.rejects(createPublishedPort(store.db, job("b", 15021, "udp")), (e: unknown) => e instanceof FernlinkError && e.code === "conflict");
      await assert.rejects(createPublishedPort(store.db, job("a", 15022)), (e: unknown) => e instanceof FernlinkError && e.code === "conflict");
    },
  },
  {
    name: "pausing hides a port from the active list; removing it or its device deletes it",
    async run({ store }) {
      const { account, device, job } = await setup(store);
      const a = await createPublishedPort(store.db, job("a", 15023));
      await createPublishedPort(store.db, job("b", 15024));
      assert.ok(await setPublishedPortState(store.db, a.id, "paused"));
      const active = (await listActivePublishedPorts(store.db)).filter((p) => p.account_id === account.id);
      assert.deepEqual(
        active.map((p) => p.name),
        ["b"],
      );
      assert.ok(await removePublishedPort(store.db, a.id));
      assert.equal(await removePublishedPort(store.db, a.id), false);
      await removeDevice(store.db, device.id);
      assert.deepEqual(await listPublishedPorts(store.db, account.id), []);
    },
  },
];

testOnEveryBackend(cases);
