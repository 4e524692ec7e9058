import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "./access-test-kit.js";
import { addApiToken } from "./api-tokens.js";
import type { Principal } from "./context.js";
import { LOGIN_LIMITS } from "./login-guard.js";
import { hashPassword } from "./password.js";
import { authenticate, initAccount, login } from "./sessions.js";
import { findAccountByName, updateAccountPolicy } from "./store/accounts.js";
import { createUser, setTotp } from "./store/users.js";
import { totpCode, totpStep } from "./totp.js";

const PASSWORD = "correct horse battery staple";
const MINUTE = 60_000;
// Session lifetimes are written out, not imported, so that changing one fails these tests.
const HOUR = 60 * MINUTE;

for (const backend of TEST_BACKENDS) {
  describe(`logins and sessions on ${backend}`, () => {
    let t: TestAccess;
    let passwordHash: string;
    before(async () => {
      t = await openTestAccess(backend);
      passwordHash = await hashPassword(PASSWORD);
    });
    after(() => t.close());

    /** A fresh account with admin alice and member bob; a fresh source address. */
    async function site() {
      const account = `acme-${randomUUID().slice(0, 8)}`;
      await initAccount(t.ctx, { account, user: "alice", password: PASSWORD });
      const row = (await findAccountByName(t.ctx.db, account))!;
      const bob = await createUser(t.ctx.db, { accountId: row.id, name: "bob", passwordHash, role: "member", now: t.ctx.now() });
      const source = `192.0.2.${Math.floor(Math.random() * 250)}-${randomUUID().slice(0, 4)}`;
      const as = (user: string, password = PASSWORD, extra: { otp?: string; source?: string } = {}) =>
        login(t.ctx, { account, user, password, ...(extra.otp ? { otp: extra.otp } : {}) }, extra.source ?? source);
      const code = async (p: Promise<unknown>) => {
        try {
          await p;
          return "ok";
        } catch (err) {
          return (err as { code: string }).code;
        }
      };
      return { account, row, bob, source, as, code };
    }

    async function reasons(accountId: string): Promise<string[]> {
      await t.ctx.work.drain(5_000);
      const rows = await t.ctx.db.selectFrom("audit").select(["action", "result", "reason"]).where("account_id", "=", accountId).orderBy("seq").execute();
      return rows.filter((r) => r.action === "login" && r.result === "denied").map((r) => r.reason ?? "");
    }

    it("a correct password gives a session token that authenticates as the user", async () => {
      const s = await site();
      const reply = await s.as("bob");
      const who = await authenticate(t.ctx, reply.token, "test");
      assert.equal(who.userName, "bob");
      assert.equal(who.role, "member");
      assert.equal(who.accountName, s.account);
      assert.equal(reply.restriction, undefined);
    });

    it("wrong password, unknown user, unknown account and locked user fail alike, and the audit has the real reason", async () => {
      const s = await site();
      const errors: unknown[] = [];
      const attempts = [
        () => s.as("bob", "not the password"),
        () => s.as("mallory"),
        () => login(t.ctx, { account: "no-such-account", user: "bob", password: PASSWORD }, s.source),
      ];
      for (const attempt of attempts) {
        errors.push(await attempt().catch((err: unknown) => ({ code: (err as { code: string }).code, message: (err as Error).message })));
      }
      assert.equal((errors[0] as { code: string }).code, "login-failed");
      assert.deepEqual(errors[1], errors[0]);
      assert.deepEqual(errors[2], errors[0]);
      assert.deepEqual(await reasons(s.row.id), ["wrong password", "unknown user"]);
    });

    it("failures up to the policy's limit within 15 minutes lock the user for 30 minutes, even with the right password", async () => {
      const s = await site();
      for (let i = 0; i < 5; i++) {
        assert.equal(await s.code(s.as("bob", "wrong password!", { source: `lock-${i}-${s.source}` })), "login-failed");
        t.advance(MINUTE);
      }
      assert.equal(await s.code(s.as("bob")), "login-failed");
      assert.match((await reasons(s.row.id)).at(-1)!, /^user locked until /);
      const locks = await t.ctx.db.selectFrom("audit").select("object").where("account_id", "=", s.row.id).where("action", "=", "user.lock").execute();
      assert.deepEqual(
        locks.map((r) => r.object),
        ["bob"],
      );
      assert.equal(await s.code(s.as("alice")), "ok", "other users of the account are not locked");
      // Locked at the fifth failure, one minute ago.
      t.advance(LOGIN_LIMITS.lockMs - MINUTE - 1);
      assert.equal(await s.code(s.as("bob")), "login-failed");
      t.advance(2);
      assert.equal(await s.code(s.as("bob")), "ok");
    });

    it("failures spread over more than 15 minutes do not lock", async () => {
      const s = await site();
      for (let i = 0; i < 8; i++) {
        await s.code(s.as("bob", "wrong password!"));
        t.advance(4 * MINUTE);
      }
      assert.equal(await s.code(s.as("bob")), "ok");
    });

    it("a successful login starts the failure count afresh", async () => {
      const s = await site();
      for (let i = 0; i < 4; i++) await s.code(s.as("bob", "wrong password!"));
      assert.equal(await s.code(s.as("bob")), "ok");
      for (let i = 0; i < 4; i++) await s.code(s.as("bob", "wrong password!"));
      assert.equal(await s.code(s.as("bob")), "ok");
    });

    it("the lockout limit follows the account policy", async () => {
      const s = await site();
      await updateAccountPolicy(t.ctx.db, s.row.id, { lockout_after: 2 });
      await s.code(s.as("bob", "wrong password!"));
      await s.code(s.as("bob", "wrong password!"));
      assert.equal(await s.code(s.as("bob")), "login-failed");
    });

    it("ten failures from one source throttle it with a retry hint; throttled attempts count toward no lock", async () => {
      const s = await site();
      for (let i = 0; i < LOGIN_LIMITS.sourceFailures; i++) await s.code(s.as(`ghost-${i}`, "guess"));
      const refused = await s.as("bob").catch((err: unknown) => err as { code: string; message: string });
      assert.equal((refused as { code: string }).code, "throttled");
      assert.match((refused as { message: string }).message, /try again in 15 minutes/);
      for (let i = 0; i < 10; i++) assert.equal(await s.code(s.as("bob", "wrong password!")), "throttled");
      assert.equal(await s.code(s.as("bob", PASSWORD, { source: "another-source" })), "ok", "other sources and the user are unaffected");
      t.advance(LOGIN_LIMITS.windowMs - 1);
      assert.equal(await s.code(s.as("bob")), "throttled");
      t.advance(1);
      assert.equal(await s.code(s.as("bob")), "ok");
    });

    it("with one-time codes on, a right password without a code asks for one; wrong and reused codes fail like any failure", async () => {
      const s = await site();
      const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
      await setTotp(t.ctx.db, s.bob.id, secret);
      const now = totpStep(t.ctx.now());
      assert.equal(await s.code(s.as("bob")), "otp-required");
      assert.equal(await s.code(s.as("bob", "wrong password!")), "login-failed", "a wrong password never hears about the code");
      assert.equal(await s.code(s.as("bob", PASSWORD, { otp: totpCode(secret, now + 5) })), "login-failed");
      assert.equal(await s.code(s.as("bob", "wrong password!", { otp: totpCode(secret, now) })), "login-failed");
      assert.equal(await s.code(s.as("bob", PASSWORD, { otp: totpCode(secret, now) })), "ok");
      assert.equal(await s.code(s.as("bob", PASSWORD, { otp: totpCode(secret, now) })), "login-failed");
      assert.deepEqual(await reasons(s.row.id), [
        "one-time code missing",
        "wrong password",
        "wrong one-time code",
        "wrong password",
        "one-time code already used",
      ]);
      t.advance(30_000);
      assert.equal(await s.code(s.as("bob", PASSWORD, { otp: totpCode(secret, now + 1) })), "ok");
    });

    it("a session ends after 2 hours without use, counted from its last recorded use", async () => {
      const s = await site();
      const { token } = await s.as("bob");
      t.advance(MINUTE - 1000);
      await authenticate(t.ctx, token, "test");
      // That use was not written (under a minute); the session still lives 2 hours after it.
      t.advance(2 * HOUR);
      await authenticate(t.ctx, token, "test");
      // Last use may lag by up to a minute, so the limit is 2 hours and a minute.
      t.advance(2 * HOUR + MINUTE + 1);
      await assert.rejects(authenticate(t.ctx, token, "test"), { code: "unauthenticated" });
    });

    it("a busy session still ends 24 hours after login", async () => {
      const s = await site();
      const { token, expiresAt } = await s.as("bob");
      assert.equal(Date.parse(expiresAt) - t.ctx.now().getTime(), 24 * HOUR);
      for (let spent = 0; spent < 24 * HOUR - 30 * MINUTE; spent += 30 * MINUTE) {
        t.advance(30 * MINUTE);
        await authenticate(t.ctx, token, "test");
      }
      t.advance(30 * MINUTE);
      await assert.rejects(authenticate(t.ctx, token, "test"), { code: "unauthenticated" });
    });

    it("an expired password restricts the session to changing it", async () => {
      const s = await site();
      await updateAccountPolicy(t.ctx.db, s.row.id, { max_password_age_days: 30 });
      t.advance(30 * 24 * 60 * MINUTE);
      const reply = await s.as("bob");
      assert.equal(reply.restriction, "password-expired");
      await assert.rejects(authenticate(t.ctx, reply.token, "test"), { code: "password-expired" });
      const who = await authenticate(t.ctx, reply.token, "test", { allow: ["password-expired"] });
      assert.equal(who.restriction, "password-expired");
    });

    it("a required one-time code the user has not enrolled restricts the session to enrolling", async () => {
      const s = await site();
      await updateAccountPolicy(t.ctx.db, s.row.id, { require_otp: 1 });
      const reply = await s.as("bob");
      assert.equal(reply.restriction, "otp-enrollment-required");
      await assert.rejects(authenticate(t.ctx, reply.token, "test"), { code: "otp-enrollment-required" });
      await assert.rejects(authenticate(t.ctx, reply.token, "test", { allow: ["password-expired"] }), { code: "otp-enrollment-required" });
      assert.equal((await authenticate(t.ctx, reply.token, "test", { allow: ["otp-enrollment-required"] })).userName, "bob");
    });

    it("an API token authenticates with its account, its name and a role capped by its maker's", async () => {
      const s = await site();
      const alice: Principal = { ...(await authenticate(t.ctx, (await s.as("alice")).token, "test")) };
      const admin = await addApiToken(t.ctx, alice, { name: "ci", role: "admin" });
      assert.match(admin.token, /^flk_[A-Za-z0-9_-]{43}$/);
      const who = await authenticate(t.ctx, admin.token, "test");
      assert.deepEqual([who.accountName, who.userName, who.role, who.tokenName, who.expiresAt], [s.account, "alice", "admin", "ci", null]);
      await t.ctx.db.updateTable("users").set({ role: "member" }).where("name", "=", "alice").where("account_id", "=", s.row.id).execute();
      assert.equal((await authenticate(t.ctx, admin.token, "test")).role, "member");
      await assert.rejects(authenticate(t.ctx, "flk_forged", "test"), { code: "unauthenticated" });
    });

    it("an API token with an expiry stops working when it expires", async () => {
      const s = await site();
      const alice = await authenticate(t.ctx, (await s.as("alice")).token, "test");
      const made = await addApiToken(t.ctx, alice, { name: "short", role: "member", expiresDays: 1 });
      t.advance(24 * 60 * MINUTE - 1);
      assert.equal((await authenticate(t.ctx, made.token, "test")).role, "member");
      t.advance(1);
      await assert.rejects(authenticate(t.ctx, made.token, "test"), { code: "unauthenticated" });
    });
  });
}
