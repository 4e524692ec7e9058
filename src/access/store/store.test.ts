import assert from "node:assert/strict";
import { sql } from "kysely";
import { countAccounts, createAccount, findAccountById, findAccountByName } from "./accounts.js";
import { createSession, findActiveSession, revokeSession, touchSession } from "./sessions.js";
import type { Backend, StoreCase } from "./store-fixture.js";
import { at, newAccount, T0, testOnEveryBackend, uniqueName } from "./store-fixture.js";
import { inTransaction } from "./transaction.js";
import { createUser, findUserByName, getUser } from "./users.js";

async function newUser({ store }: Backend) {
  const account = await newAccount(store);
  const user = await createUser(store.db, {
    accountId: account.id,
    name: "ada",
    passwordHash: "hash",
    role: "admin",
    now: T0,
  });
  return { account, user };
}

const cases: StoreCase[] = [
  {
    name: "opening an already migrated database again applies nothing and keeps the data",
    async run(backend) {
      const account = await newAccount(backend.store);
      const again = await backend.reopen();
      assert.deepEqual(await findAccountByName(again.db, account.name), account);
      const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(again.db);
      assert.deepEqual(rows.map((r) => r.name).sort(), [
        "0001_core",
        "0002_access_control",
        "0003_web_targets",
        "0004_pending_logins",
        "0005_audit_per_account",
        "0006_audit_token",
        "0007_cluster_keys",
        "0008_web_grants",
        "0009_live_tunnels",
        "0010_relays",
        "0011_live_streams",
        "0012_device_name_case",
        "0013_published_ports",
        "0014_device_switch",
        "0015_device_check_ins",
        "0016_notifications",
        "0017_operator",
        "0018_admin_controls",
        "0019_reason_recording",
        "0020_published_udp",
      ]);
      await again.close();
    },
  },
  {
    name: "an account name can be taken only once",
    async run({ store }) {
      const name = uniqueName("dup");
      const account = await createAccount(store.db, { name, now: T0 });
      await assert.rejects(createAccount(store.db, { name, now: T0 }), { code: "conflict" });
      assert.deepEqual(await findAccountById(store.db, account.id), account);
    },
  },
  {
    name: "accounts are counted as a number",
    async run({ store }) {
      const before = await countAccounts(store.db);
      await newAccount(store);
      assert.equal(await countAccounts(store.db), before + 1);
    },
  },
  {
    name: "a user name is unique within an account but free in another",
    async run(backend) {
      const { account, user } = await newUser(backend);
      const { db } = backend.store;
      const again = { accountId: account.id, name: "ada", passwordHash: "x", role: "member" as const, now: T0 };
      await assert.rejects(createUser(db, again), { code: "conflict" });
      const other = await newAccount(backend.store);
      await createUser(db, { ...again, accountId: other.id });
      assert.deepEqual(await findUserByName(db, account.id, "ada"), user);
      assert.deepEqual(await getUser(db, user.id), user);
      assert.equal(await getUser(db, "no-such-id"), undefined);
    },
  },
  {
    name: "creating a user in a missing account fails with not-found",
    async run({ store }) {
      const input = { accountId: "missing", name: "x", passwordHash: "x", role: "member" as const, now: T0 };
      await assert.rejects(createUser(store.db, input), { code: "not-found" });
    },
  },
  {
    name: "an active session is found with its user and account",
    async run(backend) {
      const { account, user } = await newUser(backend);
      const { db } = backend.store;
      const tokenHash = uniqueName("token");
      const session = await createSession(db, { userId: user.id, tokenHash, now: T0, expiresAt: at(60) });
      assert.deepEqual(await findActiveSession(db, tokenHash, at(30)), { session, user, account });
      assert.equal(await findActiveSession(db, "other-token", at(30)), undefined);
    },
  },
  {
    name: "a session is not found from the moment it expires",
    async run(backend) {
      const { user } = await newUser(backend);
      const { db } = backend.store;
      const tokenHash = uniqueName("token");
      await createSession(db, { userId: user.id, tokenHash, now: T0, expiresAt: at(60) });
      assert.notEqual(await findActiveSession(db, tokenHash, at(59)), undefined);
      assert.equal(await findActiveSession(db, tokenHash, at(60)), undefined);
    },
  },
  {
    name: "a revoked session is not found and keeps its first revocation time",
    async run(backend) {
      const { user } = await newUser(backend);
      const { db } = backend.store;
      const tokenHash = uniqueName("token");
      const session = await createSession(db, { userId: user.id, tokenHash, now: T0, expiresAt: at(60) });
      await revokeSession(db, session.id, at(10));
      await revokeSession(db, session.id, at(20));
      assert.equal(await findActiveSession(db, tokenHash, at(30)), undefined);
      const row = await db.selectFrom("sessions").select("revoked_at").where("id", "=", session.id).executeTakeFirst();
      assert.equal(row?.revoked_at, at(10).toISOString());
    },
  },
  {
    name: "touching a session records its last use",
    async run(backend) {
      const { user } = await newUser(backend);
      const { db } = backend.store;
      const tokenHash = uniqueName("token");
      const session = await createSession(db, { userId: user.id, tokenHash, now: T0, expiresAt: at(60) });
      await touchSession(db, session.id, at(5));
      const found = await findActiveSession(db, tokenHash, at(6));
      assert.equal(found?.session.last_used_at, at(5).toISOString());
    },
  },
  {
    name: "a transaction that throws leaves nothing behind",
    async run({ store }) {
      const name = uniqueName("rolled-back");
      const failure = new Error("abort");
      await assert.rejects(
        inTransaction(store, async (trx) => {
          await createAccount(trx, { name, now: T0 });
          throw failure;
        }),
        failure,
      );
      assert.equal(await findAccountByName(store.db, name), undefined);
      await inTransaction(store, (trx) => createAccount(trx, { name, now: T0 }));
      assert.notEqual(await findAccountByName(store.db, name), undefined);
    },
  },
];

testOnEveryBackend(cases);
