import assert from "node:assert/strict";
import { createSession, findActiveSession, revokeUserSessions } from "./sessions.js";
import type { Backend, StoreCase } from "./store-fixture.js";
import { at, newAccount, testOnEveryBackend, uniqueName } from "./store-fixture.js";
import { consumeTotpStep, createUser, deleteUser, getUser, listUsers, setLockedUntil, setPasswordHash, setTotp } from "./users.js";

async function newUser({ store }: Backend, name = "ada") {
  const account = await newAccount(store);
  const user = await createUser(store.db, { accountId: account.id, name, passwordHash: "h", role: "member", now: at(0) });
  return { db: store.db, account, user };
}

const cases: StoreCase[] = [
  {
    name: "users are listed by name within their account only",
    async run(backend) {
      const { db, account } = await newUser(backend, "zoe");
      await createUser(db, { accountId: account.id, name: "adam", passwordHash: "h", role: "admin", now: at(0) });
      await newUser(backend, "other");
      assert.deepEqual(
        (await listUsers(db, account.id)).map((u) => u.name),
        ["adam", "zoe"],
      );
    },
  },
  {
    name: "a one-time code step is consumed once, and never an earlier one after a later",
    async run(backend) {
      const { db, user } = await newUser(backend);
      await setTotp(db, user.id, "SECRET");
      assert.equal(await consumeTotpStep(db, user.id, 100), true);
      assert.equal(await consumeTotpStep(db, user.id, 100), false);
      assert.equal(await consumeTotpStep(db, user.id, 99), false);
      assert.equal(await consumeTotpStep(db, user.id, 101), true);
      assert.equal((await getUser(db, user.id))?.totp_last_step, 101);
    },
  },
  {
    name: "two racing uses of the same step let exactly one through",
    async run(backend) {
      const { db, user } = await newUser(backend);
      await setTotp(db, user.id, "SECRET");
      const results = await Promise.all([consumeTotpStep(db, user.id, 7), consumeTotpStep(db, user.id, 7), consumeTotpStep(db, user.id, 7)]);
      assert.equal(results.filter(Boolean).length, 1);
    },
  },
  {
    name: "turning codes off clears the secret and the replay guard",
    async run(backend) {
      const { db, user } = await newUser(backend);
      await setTotp(db, user.id, "SECRET");
      await consumeTotpStep(db, user.id, 5);
      await setTotp(db, user.id, null);
      const after = await getUser(db, user.id);
      assert.equal(after?.totp_enabled, 0);
      assert.equal(after?.totp_secret, null);
      assert.equal(after?.totp_last_step, null);
    },
  },
  {
    name: "password and lock changes are stored",
    async run(backend) {
      const { db, user } = await newUser(backend);
      await setPasswordHash(db, user.id, "new-hash", at(50));
      await setLockedUntil(db, user.id, at(60));
      const after = await getUser(db, user.id);
      assert.equal(after?.password_hash, "new-hash");
      assert.equal(after?.password_changed_at, at(50).toISOString());
      assert.equal(after?.locked_until, at(60).toISOString());
    },
  },
  {
    name: "revoking a user's sessions keeps the one asked to keep",
    async run(backend) {
      const { db, user } = await newUser(backend);
      const keep = await createSession(db, { userId: user.id, tokenHash: uniqueName("t"), now: at(0), expiresAt: at(1000) });
      const other = await createSession(db, { userId: user.id, tokenHash: uniqueName("t"), now: at(0), expiresAt: at(1000) });
      assert.equal(await revokeUserSessions(db, user.id, keep.id, at(5)), 1);
      assert.notEqual(await findActiveSession(db, keep.token_hash, at(6)), undefined);
      assert.equal(await findActiveSession(db, other.token_hash, at(6)), undefined);
      assert.equal(await revokeUserSessions(db, user.id, null, at(7)), 1);
    },
  },
  {
    name: "deleting a user deletes its sessions",
    async run(backend) {
      const { db, user } = await newUser(backend);
      const session = await createSession(db, { userId: user.id, tokenHash: uniqueName("t"), now: at(0), expiresAt: at(1000) });
      await deleteUser(db, user.id);
      assert.equal(await getUser(db, user.id), undefined);
      assert.equal((await db.selectFrom("sessions").select("id").where("id", "=", session.id).execute()).length, 0);
    },
  },
];

testOnEveryBackend(cases);
