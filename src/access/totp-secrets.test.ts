import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openTestAccess, TEST_BACKENDS } from "./access-test-kit.js";
import { createAccount } from "./store/accounts.js";
import { createUser, findUserByName, setTotp } from "./store/users.js";
import { openTotpSecret, sealStoredTotpSecrets, sealTotpSecret } from "./totp-secrets.js";

const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

for (const backend of TEST_BACKENDS) {
  describe(`one-time code secrets at rest on ${backend}`, () => {
    it("a sealed secret opens for its user only, and holds nothing of the secret", () => {
      return withAccess(async (t) => {
        const { ctx } = t;
        const sealed = sealTotpSecret(ctx.secretKey, "user-1", SECRET);
        assert.ok(!sealed.includes(SECRET));
        assert.equal(openTotpSecret(ctx.secretKey, "user-1", sealed), SECRET);
        assert.throws(() => openTotpSecret(ctx.secretKey, "user-2", sealed), { code: "internal" });
      });
    });

    it("secrets stored in clear are sealed at start, once, and still give the same codes", () => {
      return withAccess(async (t) => {
        const { ctx } = t;
        const account = await createAccount(ctx.db, { name: "acme", now: ctx.now() });
        const users = [];
        for (const name of ["ann", "ben", "cid"])
          users.push(await createUser(ctx.db, { accountId: account.id, name, passwordHash: "x", role: "member", now: ctx.now() }));
        await setTotp(ctx.db, users[0]!.id, SECRET);
        await setTotp(ctx.db, users[1]!.id, sealTotpSecret(ctx.secretKey, users[1]!.id, SECRET));
        assert.equal(await sealStoredTotpSecrets(ctx.db, ctx.secretKey), 1);
        const ann = (await findUserByName(ctx.db, account.id, "ann"))!;
        assert.match(ann.totp_secret!, /^v1:/);
        assert.equal(openTotpSecret(ctx.secretKey, ann.id, ann.totp_secret!), SECRET);
        assert.equal(await sealStoredTotpSecrets(ctx.db, ctx.secretKey), 0, "a second start seals nothing");
        assert.equal((await findUserByName(ctx.db, account.id, "ann"))!.totp_secret, ann.totp_secret);
        assert.equal((await findUserByName(ctx.db, account.id, "cid"))!.totp_secret, null);
      });
    });
  });

  async function withAccess(fn: (t: Awaited<ReturnType<typeof openTestAccess>>) => Promise<void>): Promise<void> {
    const t = await openTestAccess(backend);
    try {
      await fn(t);
    } finally {
      await t.close();
    }
  }
}
