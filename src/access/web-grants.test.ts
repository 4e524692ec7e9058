import assert from "node:assert/strict";
import { createSecretKey, randomBytes } from "node:crypto";
import { GRANT_TTL_MS, LAUNCH_CODE_TTL_MS, MAX_GRANTS, MAX_PER_SESSION, type WebGrants } from "../protocol/web-grants.js";
import { createDevice } from "./store/devices.js";
import type { Store } from "./store/store.js";
import type { StoreCase } from "./store/store-fixture.js";
import { newAccount, T0, testOnEveryBackend, uniqueName } from "./store/store-fixture.js";
import { createWebTarget, newWebTargetId, removeWebTarget } from "./store/web-targets.js";
import { createStoredWebGrants, GRANT_CACHE_MS, type StoredWebGrantsOptions } from "./web-grants.js";

const secretKey = createSecretKey(randomBytes(32));

/** Two HTTP web targets on one device, the ids the grants are bound to. */
async function targets(store: Store): Promise<[string, string]> {
  const account = await newAccount(store);
  const device = await createDevice(store.db, { accountId: account.id, name: uniqueName("press"), lan: [], now: T0 });
  const ids: string[] = [];
  for (const name of ["Main", "Second"]) {
    const id = newWebTargetId();
    await createWebTarget(store.db, {
      id,
      accountId: account.id,
      deviceId: device.id,
      name,
      kind: "http",
      host: "192.168.1.10",
      port: 80,
      path: "/",
      secret: null,
      now: T0,
    });
    ids.push(id);
  }
  return [ids[0]!, ids[1]!];
}

/** Another node on the same database: on PostgreSQL its own connections; SQLite is one process's. */
async function otherNode(store: Store, reopen: () => Promise<Store>): Promise<Store> {
  return store.dialect === "postgres" ? reopen() : store;
}

/** A node's grants on `store` with a clock the test moves. */
function node(store: Store, clock: { now: number }, extra: Partial<StoredWebGrantsOptions> = {}): WebGrants {
  return createStoredWebGrants({ db: store.db, secretKey, now: () => clock.now, ...extra });
}

const session = () => uniqueName("session-token");

async function open(grants: WebGrants, sessionToken: string, targetId: string): Promise<string> {
  const redeemed = await grants.redeem(await grants.issueLaunchCode({ sessionToken, targetId, path: "/" }), targetId);
  assert.ok(redeemed);
  return redeemed.grant;
}

const cases: StoreCase[] = [
  {
    name: "a launch code is traded once for a grant that stands for the session on its target only",
    async run({ store }) {
      const [t1, t2] = await targets(store);
      const grants = node(store, { now: T0.getTime() });
      const sessionToken = session();
      const code = await grants.issueLaunchCode({ sessionToken, targetId: t1, path: "/hmi/" });
      const redeemed = await grants.redeem(code, t1);
      assert.ok(redeemed);
      assert.equal(redeemed.path, "/hmi/");
      assert.equal(await grants.redeem(code, t1), undefined, "single use");
      assert.deepEqual(await grants.lookup(redeemed.grant, t1), { sessionToken, targetId: t1 });
      assert.equal(await grants.lookup(redeemed.grant, t2), undefined);
    },
  },
  {
    name: "the store holds codes, grants and session tokens only hashed or sealed",
    async run({ store }) {
      const [t1] = await targets(store);
      const grants = node(store, { now: T0.getTime() });
      const sessionToken = session();
      const code = await grants.issueLaunchCode({ sessionToken, targetId: t1, path: "/" });
      const grant = await open(grants, sessionToken, t1);
      const rows = JSON.stringify(await store.db.selectFrom("web_grants").selectAll().where("target_id", "=", t1).execute());
      for (const secret of [code, grant, sessionToken]) assert.equal(rows.includes(secret), false);
    },
  },
  {
    name: "a launch code brought to another target's host is burnt",
    async run({ store }) {
      const [t1, t2] = await targets(store);
      const grants = node(store, { now: T0.getTime() });
      const code = await grants.issueLaunchCode({ sessionToken: session(), targetId: t1, path: "/" });
      assert.equal(await grants.redeem(code, t2), undefined);
      assert.equal(await grants.redeem(code, t1), undefined);
    },
  },
  {
    name: "a code issued on one node is redeemed on another, and of many nodes redeeming it at once one wins",
    async run({ store, reopen }) {
      const [t1] = await targets(store);
      const clock = { now: T0.getTime() };
      const a = node(store, clock);
      const others = [a, node(await otherNode(store, reopen), clock), node(await otherNode(store, reopen), clock)];
      const code = await a.issueLaunchCode({ sessionToken: session(), targetId: t1, path: "/" });
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => others[i % others.length]!.redeem(code, t1)));
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      for (const grants of others) assert.ok(await grants.lookup(winners[0]!.grant, t1));
    },
  },
  {
    name: "codes and grants expire",
    async run({ store }) {
      const [t1] = await targets(store);
      const clock = { now: T0.getTime() };
      const grants = node(store, clock);
      const sessionToken = session();
      const late = await grants.issueLaunchCode({ sessionToken, targetId: t1, path: "/" });
      const grant = await open(grants, sessionToken, t1);
      clock.now += LAUNCH_CODE_TTL_MS;
      assert.equal(await grants.redeem(late, t1), undefined);
      assert.ok(await grants.lookup(grant, t1));
      clock.now = T0.getTime() + GRANT_TTL_MS;
      assert.equal(await grants.lookup(grant, t1), undefined, "expired even while cached");
      assert.equal(await node(store, clock).holds(grant), false);
    },
  },
  {
    name: "one session opening HMIs in a loop pushes out only its own oldest grants",
    async run({ store }) {
      const [t1] = await targets(store);
      const grants = node(store, { now: T0.getTime() });
      const sessionToken = session();
      const other = await open(grants, session(), t1);
      const mine: string[] = [];
      for (let i = 0; i < MAX_PER_SESSION + 3; i++) mine.push(await open(grants, sessionToken, t1));
      const fresh = node(store, { now: T0.getTime() });
      assert.ok(await fresh.holds(other));
      const held = await Promise.all(mine.map((g) => fresh.holds(g)));
      assert.equal(held.filter(Boolean).length, MAX_PER_SESSION);
      assert.deepEqual(held.slice(0, 3), [false, false, false]);
    },
  },
  {
    name: "beyond the cap in all the oldest codes and grants go first, however many nodes issue at once",
    async run({ store, reopen }) {
      const [t1] = await targets(store);
      await store.db.deleteFrom("web_grants").execute();
      const clock = { now: T0.getTime() };
      const caps = { perSession: MAX_PER_SESSION, total: 5 };
      const nodes = [node(store, clock, { caps }), node(await otherNode(store, reopen), clock, { caps })];
      const first = await nodes[0]!.issueLaunchCode({ sessionToken: session(), targetId: t1, path: "/" });
      await Promise.all(Array.from({ length: 12 }, (_, i) => nodes[i % 2]!.issueLaunchCode({ sessionToken: session(), targetId: t1, path: "/" })));
      const count = await store.db
        .selectFrom("web_grants")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("kind", "=", "launch")
        .executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 5);
      assert.equal(await nodes[1]!.redeem(first, t1), undefined);
      assert.equal(MAX_GRANTS, 20_000);
    },
  },
  {
    name: "a session's end takes its codes and grants on every node, and no one else's",
    async run({ store, reopen }) {
      const [t1, t2] = await targets(store);
      const clock = { now: T0.getTime() };
      const a = node(store, clock);
      const b = node(await otherNode(store, reopen), clock);
      const sessionToken = session();
      const code = await a.issueLaunchCode({ sessionToken, targetId: t1, path: "/" });
      const g1 = await open(a, sessionToken, t1);
      const g2 = await open(a, sessionToken, t2);
      const other = await open(a, session(), t1);
      assert.ok(await b.holds(g1));
      await a.endSession(sessionToken);
      assert.equal(await a.holds(g1), false);
      assert.equal(await a.redeem(code, t1), undefined);
      // Node b read g1 just now: it trusts that for a few seconds (the session is checked on every request anyway).
      clock.now += GRANT_CACHE_MS;
      assert.equal(await b.holds(g1), false);
      assert.equal(await b.holds(g2), false);
      assert.ok(await b.holds(other));
    },
  },
  {
    name: "a revoked grant is gone, and removing a web target removes its grants",
    async run({ store }) {
      const [t1, t2] = await targets(store);
      const grants = node(store, { now: T0.getTime() });
      const sessionToken = session();
      const revoked = await open(grants, sessionToken, t1);
      await grants.revoke(revoked);
      assert.equal(await grants.lookup(revoked, t1), undefined);
      const onRemoved = await open(grants, sessionToken, t2);
      await removeWebTarget(store.db, t2);
      assert.equal(await node(store, { now: T0.getTime() }).holds(onRemoved), false);
    },
  },
];

testOnEveryBackend(cases);
