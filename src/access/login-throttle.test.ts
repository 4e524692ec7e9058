import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "./access-test-kit.js";
import { SYSTEM_CHAIN } from "./audit-chain.js";
import { LOGIN_LIMITS } from "./login-guard.js";
import { clearLoginThrottle, listLoginThrottle } from "./login-throttle.js";
import { hashPassword } from "./password.js";
import { initAccount, login } from "./sessions.js";
import { findAccountByName } from "./store/accounts.js";
import { listAudit } from "./store/audit.js";
import { createUser, setTotp } from "./store/users.js";
import { totpCode, totpStep } from "./totp.js";

const PASSWORD = "correct horse battery staple";
const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

for (const backend of TEST_BACKENDS) {
  describe(`the login throttle of one source address on ${backend}`, () => {
    let t: TestAccess;
    let sites = 0;
    before(async () => {
      t = await openTestAccess(backend);
    });
    after(() => t.close());

    /** An account with admin alice and member bob (two-factor login on), and a source with ten failures. */
    async function throttledSite() {
      const account = `plant-${randomUUID().slice(0, 8)}`;
      await initAccount(t.ctx, { account, user: "alice", password: PASSWORD });
      const row = (await findAccountByName(t.ctx.db, account))!;
      const bob = await createUser(t.ctx.db, { accountId: row.id, name: "bob", passwordHash: await hashPassword(PASSWORD), role: "member", now: t.ctx.now() });
      await setTotp(t.ctx.db, bob.id, SECRET);
      // Each site its own address: a random one could be drawn twice and start out throttled.
      const source = `198.51.100.${++sites}`;
      const as = async (user: string, password = PASSWORD, otp?: string): Promise<string> => {
        try {
          await login(t.ctx, { account, user, password, ...(otp ? { otp } : {}) }, source);
          return "ok";
        } catch (err) {
          return (err as { code: string }).code;
        }
      };
      for (let i = 0; i < LOGIN_LIMITS.sourceFailures; i++) assert.equal(await as(`ghost-${i}`, "guess"), "login-failed");
      return { source, as };
    }

    it("refuses a password-only login from a throttled source, but lets in a right password with a valid one-time code", async () => {
      const s = await throttledSite();
      assert.equal(await s.as("alice"), "throttled");
      assert.equal(await s.as("bob"), "throttled");
      assert.equal(await s.as("alice", PASSWORD, "123456"), "throttled", "a code does not help a user without two-factor login");
      assert.equal(await s.as("bob", "wrong password!", totpCode(SECRET, totpStep(t.ctx.now()))), "login-failed");
      assert.equal(await s.as("bob", PASSWORD, totpCode(SECRET, totpStep(t.ctx.now()))), "ok");
    });

    it("lists the throttled source, lets it in again once cleared, and records who cleared it in the system chain", async () => {
      const s = await throttledSite();
      const listed = (await listLoginThrottle(t.ctx.db, t.ctx.now())).find((r) => r.source === s.source);
      assert.deepEqual(listed && [listed.failures, listed.throttled], [LOGIN_LIMITS.sourceFailures, true]);
      const record = { auditKey: t.ctx.auditKey, operator: "ops-anna", now: t.ctx.now() };
      assert.deepEqual(await clearLoginThrottle(t.ctx.db, s.source, record), { source: s.source, cleared: LOGIN_LIMITS.sourceFailures });
      const system = await listAudit(t.ctx.db, SYSTEM_CHAIN, { actions: ["login-throttle.clear"], limit: 100 });
      const cleared = system.find((r) => r.object === s.source);
      assert.deepEqual(cleared && [cleared.actor, cleared.result, cleared.reason], [
        "ops-anna",
        "ok",
        `${LOGIN_LIMITS.sourceFailures} failed login(s) forgotten`,
      ]);
      assert.equal(
        (await listLoginThrottle(t.ctx.db, t.ctx.now())).find((r) => r.source === s.source),
        undefined,
      );
      assert.equal(await s.as("alice"), "ok");
    });
  });
}
