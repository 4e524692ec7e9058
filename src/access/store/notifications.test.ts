import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createDevice } from "./devices.js";
import {
  cancelQueuedOffline,
  claimDueNotifications,
  createNotifyChannel,
  createNotifyRule,
  enqueueNotifications,
  finishNotification,
  newNotification,
  offlineWasAnnounced,
  retryNotification,
} from "./notifications.js";
import type { Store } from "./store.js";
import type { StoreCase } from "./store-fixture.js";
import { at, newAccount, T0, testOnEveryBackend } from "./store-fixture.js";

async function setUp(store: Store) {
  // The queue is claimed across accounts: each case starts with it empty.
  await store.db.deleteFrom("notifications").execute();
  const account = await newAccount(store);
  const device = await createDevice(store.db, { accountId: account.id, name: "press-7", lan: [], now: T0 });
  const channel = randomUUID();
  await createNotifyChannel(store.db, {
    id: channel,
    account_id: account.id,
    name: "hook",
    kind: "webhook",
    target: "http://127.0.0.1:9/",
    config: "{}",
    secret: null,
    created_at: T0.toISOString(),
  });
  const rule = randomUUID();
  await createNotifyRule(store.db, {
    id: rule,
    account_id: account.id,
    event: "device.offline",
    channel_id: channel,
    device_id: null,
    delay_seconds: 60,
    min_severity: null,
    created_at: T0.toISOString(),
  });
  const row = (key: string, due: Date, event = "device.offline") =>
    newNotification(
      {
        account_id: account.id,
        rule_id: rule,
        channel_id: channel,
        event,
        event_key: key,
        device_id: device.id,
        device_name: "press-7",
        subject: "s",
        body: "{}",
      },
      due,
      T0,
    );
  return { device, row };
}

const cases: StoreCase[] = [
  {
    name: "the same event for the same rule is queued once",
    async run({ store }) {
      const { row } = await setUp(store);
      assert.equal(await enqueueNotifications(store.db, [row("k1", at(60))]), 1);
      assert.equal(await enqueueNotifications(store.db, [row("k1", at(60)), row("k2", at(60))]), 1);
    },
  },
  {
    name: "of claimers racing for due rows each row goes to exactly one; rows not yet due stay",
    async run({ store }) {
      const { row } = await setUp(store);
      await enqueueNotifications(store.db, [...Array.from({ length: 12 }, (_, i) => row(`k${i}`, at(10))), row("later", at(600))]);
      const claims = await Promise.all(Array.from({ length: 4 }, () => claimDueNotifications(store.db, at(20), 60_000, 20)));
      const ids = claims.flat().map((r) => r.event_key);
      assert.equal(ids.length, 12);
      assert.equal(new Set(ids).size, 12);
      assert.ok(claims.flat().every((r) => r.state === "sending" && r.attempts === 1));
      assert.deepEqual(await claimDueNotifications(store.db, at(30), 60_000, 20), []);
    },
  },
  {
    name: "a row whose sender died is taken over once its lease ran out; a retried row waits for its new time",
    async run({ store }) {
      const { row } = await setUp(store);
      const a = row("a", at(0));
      const b = row("b", at(0));
      await enqueueNotifications(store.db, [a, b]);
      assert.equal((await claimDueNotifications(store.db, at(1), 30_000, 10)).length, 2);
      await retryNotification(store.db, b.id, at(100), "HTTP 503");
      assert.deepEqual(await claimDueNotifications(store.db, at(20), 30_000, 10), []);
      const taken = await claimDueNotifications(store.db, at(40), 30_000, 10);
      assert.deepEqual(
        taken.map((r) => [r.event_key, r.attempts]),
        [["a", 2]],
      );
      await finishNotification(store.db, a.id, { state: "sent", now: at(41) });
      const retried = await claimDueNotifications(store.db, at(101), 30_000, 10);
      assert.deepEqual(
        retried.map((r) => [r.event_key, r.attempts, r.last_error]),
        [["b", 2, "HTTP 503"]],
      );
    },
  },
  {
    name: "a device back cancels its waiting offline rows; back-online follows only an offline that was sent",
    async run({ store }) {
      const { device, row } = await setUp(store);
      const first = row("o1", at(60));
      await enqueueNotifications(store.db, [first]);
      assert.equal(await offlineWasAnnounced(store.db, device.id), false);
      assert.equal(await cancelQueuedOffline(store.db, device.id, at(5)), 1);
      assert.deepEqual(await claimDueNotifications(store.db, at(100), 30_000, 10), []);
      const second = row("o2", at(160));
      await enqueueNotifications(store.db, [second]);
      await claimDueNotifications(store.db, at(170), 30_000, 10);
      await finishNotification(store.db, second.id, { state: "sent", now: at(171) });
      assert.equal(await cancelQueuedOffline(store.db, device.id, at(200)), 0);
      assert.equal(await offlineWasAnnounced(store.db, device.id), true);
      await enqueueNotifications(store.db, [{ ...row("up", at(200), "device.online"), created_at: at(200).toISOString() }]);
      assert.equal(await offlineWasAnnounced(store.db, device.id), false);
    },
  },
];

testOnEveryBackend(cases);
