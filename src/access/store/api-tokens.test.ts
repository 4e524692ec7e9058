import assert from "node:assert/strict";
import { createApiToken, findActiveApiToken, listApiTokens, revokeApiToken, revokeApiTokensBy } from "./api-tokens.js";
import type { Backend, StoreCase } from "./store-fixture.js";
import { at, newAccount, testOnEveryBackend, uniqueName } from "./store-fixture.js";
import { createUser } from "./users.js";

async function setup({ store }: Backend) {
  const account = await newAccount(store);
  const user = await createUser(store.db, { accountId: account.id, name: "ada", passwordHash: "h", role: "admin", now: at(0) });
  const make = (name: string, expiresAt: Date | null = null) =>
    createApiToken(store.db, { accountId: account.id, name, tokenHash: uniqueName("hash"), role: "member", createdBy: user.id, now: at(0), expiresAt });
  return { db: store.db, account, user, make };
}

const cases: StoreCase[] = [
  {
    name: "a token is found by its hash with its account and maker until it expires",
    async run(backend) {
      const { db, account, user, make } = await setup(backend);
      const token = await make("ci", at(100));
      const found = await findActiveApiToken(db, token.token_hash, at(99));
      assert.equal(found?.token.id, token.id);
      assert.equal(found?.account.id, account.id);
      assert.equal(found?.creator.id, user.id);
      assert.equal(await findActiveApiToken(db, token.token_hash, at(100)), undefined);
      assert.equal(await findActiveApiToken(db, "no-such-hash", at(1)), undefined);
    },
  },
  {
    name: "a revoked token is not found, and its name can be used again",
    async run(backend) {
      const { db, account, make } = await setup(backend);
      const token = await make("ci");
      assert.equal(await revokeApiToken(db, account.id, "ci", at(1)), true);
      assert.equal(await revokeApiToken(db, account.id, "ci", at(2)), false);
      assert.equal(await findActiveApiToken(db, token.token_hash, at(3)), undefined);
      const again = await make("ci");
      assert.notEqual(again.id, token.id);
      assert.deepEqual(
        (await listApiTokens(db, account.id)).map((t) => t.id),
        [again.id],
      );
    },
  },
  {
    name: "a usable token's name is taken, an expired one's is free",
    async run(backend) {
      const { make } = await setup(backend);
      await make("ci");
      await assert.rejects(make("ci"), { code: "conflict" });
      await make("old", at(0));
      await make("old");
    },
  },
  {
    name: "revoking a maker's tokens names them and leaves others' tokens alone",
    async run(backend) {
      const { db, account, user, make } = await setup(backend);
      await make("a");
      await make("b");
      const other = await createUser(db, { accountId: account.id, name: "eve", passwordHash: "h", role: "admin", now: at(0) });
      await createApiToken(db, {
        accountId: account.id,
        name: "c",
        tokenHash: uniqueName("hash"),
        role: "admin",
        createdBy: other.id,
        now: at(0),
        expiresAt: null,
      });
      assert.deepEqual((await revokeApiTokensBy(db, user.id, at(1))).sort(), ["a", "b"]);
      assert.deepEqual(
        (await listApiTokens(db, account.id)).map((t) => t.name),
        ["c"],
      );
    },
  },
];

testOnEveryBackend(cases);
