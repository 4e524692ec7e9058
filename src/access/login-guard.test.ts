import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "./access-test-kit.js";
import {
  type Attempt,
  ChecksBusyError,
  cancelAttempt,
  isLocked,
  LOGIN_LIMITS,
  type Reservation,
  reserveAttempt,
  settleFailure,
  settleSuccess,
  takeCheckSlot,
} from "./login-guard.js";
import { createAccount } from "./store/accounts.js";
import { createUser, setLockedUntil } from "./store/users.js";

for (const backend of TEST_BACKENDS) {
  describe(`login attempts reserved before their check on ${backend}`, () => {
    let t: TestAccess;
    before(async () => {
      t = await openTestAccess(backend);
    });
    after(() => t.close());

    /** A fresh account with users of the given names (default lockout after 5), and a fresh source. */
    async function site(...names: string[]) {
      const account = await createAccount(t.ctx.db, { name: `acme-${randomUUID().slice(0, 8)}`, now: t.ctx.now() });
      for (const name of names) await createUser(t.ctx.db, { accountId: account.id, name, passwordHash: "not checked here", role: "member", now: t.ctx.now() });
      const source = `198.51.100.${randomUUID().slice(0, 6)}`;
      const attempt = (userName: string, from = source): Attempt => ({ accountName: account.name, userName, source: from, now: t.ctx.now() });
      return { account, source, attempt };
    }

    /** Reserves all at once; returns the reservations and the refusals' codes. */
    async function burst(attempts: Attempt[]): Promise<{ reserved: Reservation[]; refused: string[] }> {
      const settled = await Promise.allSettled(attempts.map((a) => reserveAttempt(t.ctx, a)));
      return {
        reserved: settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : [])),
        refused: settled.flatMap((s) => (s.status === "rejected" ? [(s.reason as { code: string }).code] : [])),
      };
    }

    const isLockedNow = async (userId: string): Promise<boolean> => {
      const user = await t.ctx.db.selectFrom("users").selectAll().where("id", "=", userId).executeTakeFirstOrThrow();
      return isLocked(user, t.ctx.now());
    };

    it("30 attempts at once on one user from one source reserve exactly 10, of which the 5th locks and the later 5 are blocked", async () => {
      const s = await site("bob");
      const { reserved, refused } = await burst(Array.from({ length: 30 }, () => s.attempt("bob")));
      assert.equal(reserved.length, LOGIN_LIMITS.sourceFailures);
      assert.deepEqual(refused, Array(20).fill("throttled"));
      // Each saw every one before it: the counts are 1…10, once each.
      assert.deepEqual(
        reserved.map((r) => r.failures).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      );
      const byCount = [...reserved].sort((a, b) => a.failures - b.failures);
      assert.deepEqual(
        byCount.map((r) => r.locksOnFailure),
        [false, false, false, false, true, false, false, false, false, false],
      );
      assert.deepEqual(
        byCount.map((r) => r.blocked !== undefined),
        [false, false, false, false, false, true, true, true, true, true],
      );
      const locks = await Promise.all(reserved.map((r) => settleFailure(t.ctx, r)));
      assert.equal(locks.filter((l) => l !== undefined).length, 1);
      assert.ok(await isLockedNow(byCount[0]!.user!.id));
    });

    it("attempts at once over three users from one source reserve 10 and lock only a user that got 5 of them", async () => {
      const s = await site("carol", "dave", "erin");
      const { reserved, refused } = await burst(Array.from({ length: 18 }, (_, i) => s.attempt(["carol", "dave", "erin"][i % 3]!)));
      assert.equal(reserved.length, 10);
      assert.equal(refused.length, 8);
      await Promise.all(reserved.map((r) => settleFailure(t.ctx, r)));
      for (const name of ["carol", "dave", "erin"]) {
        const mine = reserved.filter((r) => r.attempt.userName === name);
        assert.equal(await isLockedNow(mine[0]?.user?.id ?? ""), mine.length >= 5, `${name}: ${mine.length} reserved`);
      }
    });

    it("an attempt while a 5th is still being checked is blocked; if that one succeeds, the user stays unlocked and the next is checked", async () => {
      const s = await site("frank");
      for (let i = 0; i < 4; i++) await settleFailure(t.ctx, await reserveAttempt(t.ctx, s.attempt("frank", `${s.source}-${i}`)));
      const fifth = await reserveAttempt(t.ctx, s.attempt("frank", `${s.source}-5`));
      assert.equal(fifth.locksOnFailure, true);
      const sixth = await reserveAttempt(t.ctx, s.attempt("frank", `${s.source}-6`));
      assert.match(sixth.blocked ?? "", /^user locked: 4 failed logins and 1 still being checked$/);
      await settleSuccess(t.ctx, fifth);
      assert.equal(await settleFailure(t.ctx, sixth), undefined);
      t.advance(1);
      const seventh = await reserveAttempt(t.ctx, s.attempt("frank", `${s.source}-7`));
      assert.equal(seventh.blocked, undefined);
      assert.equal(seventh.failures, 1, "the success started the count afresh");
      await cancelAttempt(t.ctx, seventh);
      assert.equal(await isLockedNow(fifth.user!.id), false);
    });

    it("an attempt whose check never ended counts as a plain failure after a minute, so the next wrong one locks", async () => {
      const s = await site("gina");
      for (let i = 0; i < 5; i++) await reserveAttempt(t.ctx, s.attempt("gina", `${s.source}-${i}`));
      assert.ok((await reserveAttempt(t.ctx, s.attempt("gina", `${s.source}-x`))).blocked);
      t.advance(LOGIN_LIMITS.pendingMs + 1);
      const next = await reserveAttempt(t.ctx, s.attempt("gina", `${s.source}-y`));
      assert.equal(next.blocked, undefined);
      assert.equal(next.locksOnFailure, true);
      assert.ok(await settleFailure(t.ctx, next));
    });

    it("an unlock between an attempt's reservation and its failure is not overwritten by the lock", async () => {
      const s = await site("hank");
      for (let i = 0; i < 4; i++) await settleFailure(t.ctx, await reserveAttempt(t.ctx, s.attempt("hank", `${s.source}-${i}`)));
      const fifth = await reserveAttempt(t.ctx, s.attempt("hank", `${s.source}-5`));
      await setLockedUntil(t.ctx.db, fifth.user!.id, t.ctx.now());
      assert.equal(await settleFailure(t.ctx, fifth), undefined);
      assert.equal(await isLockedNow(fifth.user!.id), false);
    });

    it("attempts on unknown users count for the source but never block or lock", async () => {
      const s = await site();
      const { reserved } = await burst(Array.from({ length: 10 }, () => s.attempt("nobody")));
      assert.ok(reserved.every((r) => r.blocked === undefined && !r.locksOnFailure && r.user === undefined));
      await assert.rejects(reserveAttempt(t.ctx, s.attempt("nobody")), { code: "throttled" });
    });
  });
}

describe("takeCheckSlot", () => {
  it("refuses a source's third check at once with throttled and Retry-After, recording only the first refusal of the spell", async () => {
    const t = await openTestAccess("SQLite");
    try {
      const releases = [takeCheckSlot(t.ctx, "192.0.2.1"), takeCheckSlot(t.ctx, "::ffff:192.0.2.1")];
      const refusals = [0, 1].map(() => {
        try {
          takeCheckSlot(t.ctx, "192.0.2.1");
          return undefined;
        } catch (err) {
          return err;
        }
      });
      assert.ok(refusals.every((e) => e instanceof ChecksBusyError && e.code === "throttled" && e.retryAfterSeconds === LOGIN_LIMITS.busyRetrySeconds));
      assert.deepEqual(
        refusals.map((e) => (e as ChecksBusyError).firstOfSpell),
        [true, false],
      );
      assert.equal((refusals[0] as Error).message, "too many logins at once from 192.0.2.1; try again in 1 second");
      // Another source still gets its checks, up to the server's total.
      const others = [takeCheckSlot(t.ctx, "192.0.2.2"), takeCheckSlot(t.ctx, "192.0.2.3")];
      assert.throws(
        () => takeCheckSlot(t.ctx, "192.0.2.4"),
        (e: unknown) => e instanceof ChecksBusyError && /on this server/.test(e.message),
      );
      for (const r of [...releases, ...others]) r();
      assert.equal(t.ctx.loginChecks.inUse(), 0);
    } finally {
      await t.close();
    }
  });
});
