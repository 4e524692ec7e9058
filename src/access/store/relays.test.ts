import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { FernlinkError } from "../../protocol/errors.js";
import { PENDING_MS, RelayDirectory } from "../relay-directory.js";
import {
  addRelay,
  beatRelay,
  drainRelay,
  findRelayByName,
  listRelays,
  pruneNodeRelays,
  putNodeRelay,
  relayGone,
  relayOfKey,
  removeRelay,
  setRelayCertificate,
} from "./relays.js";
import type { StoreCase } from "./store-fixture.js";
import { at, testOnEveryBackend, uniqueName } from "./store-fixture.js";

const cases: StoreCase[] = [
  {
    name: "a relay's key registers it once, before it expires, and then names its certificate",
    async run({ store: { db } }) {
      const name = uniqueName("relay");
      const id = randomUUID();
      await addRelay(db, { id, name, region: "eu", keyHash: `h-${id}`, keyExpiresAt: at(60), now: at(0) });
      assert.equal(await relayOfKey(db, "no-such-hash", at(1)), "unknown");
      assert.equal(await relayOfKey(db, `h-${id}`, at(61)), "expired");
      const row = await relayOfKey(db, `h-${id}`, at(1));
      assert.ok(typeof row === "object" && row.name === name && row.region === "eu");
      assert.equal(await setRelayCertificate(db, { id, keyHash: `h-${id}`, serial: "abc1", url: "https://relay.example:9443", region: "eu" }), true);
      assert.equal(
        await setRelayCertificate(db, { id, keyHash: `h-${id}`, serial: "abc2", url: "https://relay.example:9443", region: "eu" }),
        false,
        "the key works once",
      );
      assert.equal(await relayOfKey(db, `h-${id}`, at(1)), "unknown");
      assert.equal((await findRelayByName(db, name))?.cert_serial, "abc1");
    },
  },
  {
    name: "two relays cannot share a name",
    async run({ store: { db } }) {
      const name = uniqueName("relay");
      await addRelay(db, { id: randomUUID(), name, region: null, keyHash: randomUUID(), keyExpiresAt: at(60), now: at(0) });
      await assert.rejects(
        addRelay(db, { id: randomUUID(), name, region: null, keyHash: randomUUID(), keyExpiresAt: at(60), now: at(0) }),
        (err: unknown) => err instanceof FernlinkError && err.code === "conflict",
      );
    },
  },
  {
    name: "heartbeat, link loss, drain and removal are what relay list reads",
    async run({ store: { db } }) {
      const name = uniqueName("relay");
      const id = randomUUID();
      await addRelay(db, { id, name, region: null, keyHash: randomUUID(), keyExpiresAt: at(60), now: at(0) });
      await beatRelay(db, id, { now: at(5), url: "https://r:1", region: "us", devices: 3, streams: 2, bytesUp: 10, bytesDown: 20 });
      const beaten = (await findRelayByName(db, name))!;
      assert.deepEqual(
        [beaten.heartbeat_at, beaten.url, beaten.region, Number(beaten.devices), Number(beaten.streams), Number(beaten.bytes_up)],
        [at(5).toISOString(), "https://r:1", "us", 3, 2, 10],
      );
      await relayGone(db, id);
      assert.equal((await findRelayByName(db, name))?.heartbeat_at, null);
      assert.equal(await drainRelay(db, name, at(6)), true);
      assert.equal(await drainRelay(db, name, at(7)), true, "draining twice keeps the first time");
      assert.equal((await findRelayByName(db, name))?.draining_at, at(6).toISOString());
      assert.equal(await drainRelay(db, uniqueName("missing"), at(6)), false);
      assert.equal((await removeRelay(db, name))?.id, id);
      assert.equal(await findRelayByName(db, name), undefined);
      assert.equal(await removeRelay(db, name), undefined);
    },
  },
  {
    name: "a node's embedded relay is renewed in place and pruned once its node stopped renewing it",
    async run({ store: { db } }) {
      const id = uniqueName("node");
      await putNodeRelay(db, { id, name: id, url: "https://n:1", region: null, now: at(0) });
      await putNodeRelay(db, { id, name: id, url: "https://n:2", region: "eu", now: at(10) });
      const row = (await listRelays(db)).find((r) => r.id === id)!;
      assert.deepEqual([row.kind, row.url, row.region, row.heartbeat_at], ["node", "https://n:2", "eu", at(10).toISOString()]);
      await pruneNodeRelays(db, at(5));
      assert.ok(
        (await listRelays(db)).some((r) => r.id === id),
        "a fresh row stays",
      );
      await pruneNodeRelays(db, at(11));
      assert.ok(!(await listRelays(db)).some((r) => r.id === id), "a stale row goes");
    },
  },
  {
    name: "an agent sent to a relay counts there until the relay's reports can count it, even across reads of the table",
    async run({ store: { db } }) {
      // A region of its own keeps the other cases' relays behind these two.
      const region = uniqueName("region");
      const [a, b] = [randomUUID(), randomUUID()];
      await putNodeRelay(db, { id: a, name: `a-${region}`, url: "https://a.example:443", region, now: at(0) });
      await putNodeRelay(db, { id: b, name: `b-${region}`, url: "https://b.example:443", region, now: at(0) });
      let clock = at(1);
      const directory = new RelayDirectory(db, () => clock);
      await directory.refresh();
      assert.equal(directory.assign(region)[0]?.id, a);
      // The table is read again before relay a reported the agent: it still counts there.
      await directory.refresh();
      assert.equal(directory.assign(region)[0]?.id, b, "the second agent of a burst went to the relay the first one took");
      // Both reported one device each; the assignments have expired, so the name decides again.
      clock = new Date(at(1).getTime() + PENDING_MS + 1_000);
      for (const id of [a, b]) await beatRelay(db, id, { now: clock, devices: 1, streams: 0, bytesUp: 0, bytesDown: 0 });
      await directory.refresh();
      assert.equal(directory.assign(region)[0]?.id, a);
    },
  },
];

testOnEveryBackend(cases);
