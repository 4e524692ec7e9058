import assert from "node:assert/strict";
import { earlierPasswords, rememberPassword } from "./password-history.js";
import type { StoreCase } from "./store-fixture.js";
import { at, newAccount, testOnEveryBackend, uniqueName } from "./store-fixture.js";
import { createUser, deleteUser } from "./users.js";

const cases: StoreCase[] = [
  {
    name: "the history keeps the newest hashes, as many as asked, newest first",
    async run({ store }) {
      const account = await newAccount(store);
      const user = await createUser(store.db, { accountId: account.id, name: uniqueName("u"), passwordHash: "h0", role: "member", now: at(0) });
      for (const i of [1, 2, 3, 4]) await rememberPassword(store.db, user.id, `h${i}`, at(i), 3);
      assert.deepEqual(await earlierPasswords(store.db, user.id, 10), ["h4", "h3", "h2"]);
      assert.deepEqual(await earlierPasswords(store.db, user.id, 2), ["h4", "h3"]);
      assert.deepEqual(await earlierPasswords(store.db, user.id, 0), []);
    },
  },
  {
    name: "a history of zero keeps nothing and forgets what was kept before",
    async run({ store }) {
      const account = await newAccount(store);
      const user = await createUser(store.db, { accountId: account.id, name: uniqueName("u"), passwordHash: "h0", role: "member", now: at(0) });
      await rememberPassword(store.db, user.id, "h1", at(1), 5);
      await rememberPassword(store.db, user.id, "h2", at(2), 0);
      assert.deepEqual(await earlierPasswords(store.db, user.id, 10), []);
    },
  },
  {
    name: "removing the user removes its history",
    async run({ store }) {
      const account = await newAccount(store);
      const user = await createUser(store.db, { accountId: account.id, name: uniqueName("u"), passwordHash: "h0", role: "member", now: at(0) });
      await rememberPassword(store.db, user.id, "h1", at(1), 5);
      await deleteUser(store.db, user.id);
      const rows = await store.db.selectFrom("password_history").select("id").where("user_id", "=", user.id).execute();
      assert.equal(rows.length, 0);
    },
  },
];

testOnEveryBackend(cases);
