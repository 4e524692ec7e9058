import assert from "node:assert/strict";
import { test } from "node:test";
import { createDevice, removeDevice } from "./devices.js";
import type { Store } from "./store.js";
import type { StoreCase } from "./store-fixture.js";
import { newAccount, T0, testOnEveryBackend } from "./store-fixture.js";
import {
  createWebTarget,
  findWebTargetByName,
  getWebTarget,
  listWebTargets,
  type NewWebTarget,
  newWebTargetId,
  removeWebTarget,
  WEB_TARGET_ID,
} from "./web-targets.js";

async function device(store: Store, name = "press-7") {
  const account = await newAccount(store);
  return createDevice(store.db, { accountId: account.id, name, lan: [], now: T0 });
}

function hmi(d: { id: string; account_id: string }, name: string, extra: Partial<NewWebTarget> = {}): NewWebTarget {
  return {
    id: newWebTargetId(),
    accountId: d.account_id,
    deviceId: d.id,
    name,
    kind: "http",
    host: "192.168.1.10",
    port: 80,
    path: "/",
    secret: null,
    now: T0,
    ...extra,
  };
}

test("web target ids are 12 random characters fit for a DNS label", () => {
  const ids = new Set(Array.from({ length: 1000 }, newWebTargetId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, WEB_TARGET_ID);
  assert.match(`w-${[...ids][0]!}`, /^[a-z0-9-]{1,63}$/);
});

const cases: StoreCase[] = [
  {
    name: "a web target keeps every field and is found by id with its device's name",
    async run({ store }) {
      const d = await device(store);
      const input = hmi(d, "Main HMI", { kind: "vnc", host: "fd00::5", port: 5901, path: null, secret: "sealed" });
      const created = await createWebTarget(store.db, input);
      assert.deepEqual(created, {
        id: input.id,
        account_id: d.account_id,
        device_id: d.id,
        name: "Main HMI",
        kind: "vnc",
        host: "fd00::5",
        port: 5901,
        path: null,
        secret: "sealed",
        created_at: T0.toISOString(),
      });
      assert.deepEqual(await getWebTarget(store.db, input.id), { ...created, device_name: "press-7" });
      assert.deepEqual(await findWebTargetByName(store.db, d.id, "Main HMI"), created);
      assert.equal(await getWebTarget(store.db, newWebTargetId()), undefined);
    },
  },
  {
    name: "a name is unique per device but free on another device",
    async run({ store }) {
      const d = await device(store);
      await createWebTarget(store.db, hmi(d, "hmi"));
      await assert.rejects(createWebTarget(store.db, hmi(d, "hmi")), { code: "conflict" });
      const other = await createDevice(store.db, { accountId: d.account_id, name: "press-8", lan: [], now: T0 });
      await createWebTarget(store.db, hmi(other, "hmi"));
      assert.equal((await listWebTargets(store.db, d.id)).length, 1);
    },
  },
  {
    name: "targets are listed by name in the same byte order on every database",
    async run({ store }) {
      const d = await device(store);
      for (const name of ["b", "a", "B", "a 2", "a_1"]) await createWebTarget(store.db, hmi(d, name));
      assert.deepEqual(
        (await listWebTargets(store.db, d.id)).map((t) => t.name),
        ["B", "a", "a 2", "a_1", "b"],
      );
    },
  },
  {
    name: "the database refuses a kind it does not know and a path on a VNC target",
    async run({ store }) {
      const d = await device(store);
      await assert.rejects(createWebTarget(store.db, hmi(d, "ftp", { kind: "ftp" as never })));
      await assert.rejects(createWebTarget(store.db, hmi(d, "vnc-path", { kind: "vnc", path: "/" })));
      await assert.rejects(createWebTarget(store.db, hmi(d, "no-path", { path: null })));
      await assert.rejects(createWebTarget(store.db, hmi(d, "port", { port: 70000 })));
      assert.deepEqual(await listWebTargets(store.db, d.id), []);
    },
  },
  {
    name: "a target on a device that does not exist is not found",
    async run({ store }) {
      const d = await device(store);
      await assert.rejects(createWebTarget(store.db, hmi({ ...d, id: "no-such-device" }, "hmi")), { code: "not-found" });
    },
  },
  {
    name: "removing a target, and removing its device, removes it",
    async run({ store }) {
      const d = await device(store);
      const a = await createWebTarget(store.db, hmi(d, "a"));
      const b = await createWebTarget(store.db, hmi(d, "b"));
      assert.equal(await removeWebTarget(store.db, a.id), true);
      assert.equal(await removeWebTarget(store.db, a.id), false);
      await removeDevice(store.db, d.id);
      assert.equal(await getWebTarget(store.db, b.id), undefined);
      const rows = await store.db.selectFrom("web_targets").select("id").where("device_id", "=", d.id).execute();
      assert.deepEqual(rows, []);
    },
  },
];

testOnEveryBackend(cases);
