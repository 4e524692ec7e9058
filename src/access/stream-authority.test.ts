import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ROUTES, routePath } from "../protocol/api.js";
import { ACCESS_ROUTES } from "../protocol/api-access.js";
import { USER_ROUTES } from "../protocol/api-users.js";
import type { StreamAuthority, StreamRequest } from "../protocol/relay-access.js";
import { parseHostPort } from "../protocol/target.js";
import { streamCacheOf } from "./access-changes.js";
import { type AccessFixture, FIXTURE_PASSWORD, openAccessFixture } from "./access-rules-fixture.js";
import { TEST_BACKENDS } from "./access-test-kit.js";
import { hashSecret } from "./secret-token.js";
import { SESSION_TTL_MS, TOUCH_INTERVAL_MS } from "./session-times.js";
import { createStreamAuthority } from "./stream-authority.js";

const R = ACCESS_ROUTES;

for (const backend of TEST_BACKENDS) {
  describe(`the stream authority answering from its cache on ${backend}`, () => {
    let f: AccessFixture;
    let authority: StreamAuthority;
    let alice: string;

    const request = (token: string, device: string, target: string): StreamRequest => ({ token, device, target: parseHostPort(target), source: "test" });
    /** Authenticates and authorizes one stream: "allowed" or the refusal's code. */
    const verdict = async (token: string, device = "press-7", target = "192.168.1.10:502"): Promise<string> => {
      try {
        const who = await authority.authenticate(request(token, device, target));
        await authority.authorize(who, request(token, device, target));
        return "allowed";
      } catch (err) {
        return (err as { code?: string }).code ?? String(err);
      }
    };
    const admin = async (method: string, path: string, body?: unknown): Promise<void> => {
      const res = await f.call(method, path, { token: alice, ...(body ? { body } : {}) });
      assert.ok(res.status < 300, `${method} ${path}: ${JSON.stringify(res.json)}`);
    };
    const lastUsed = async (token: string): Promise<string> =>
      (await f.access.ctx.db.selectFrom("sessions").select("last_used_at").where("token_hash", "=", hashSecret(token)).executeTakeFirstOrThrow()).last_used_at;

    before(async () => {
      f = await openAccessFixture(backend);
      authority = createStreamAuthority(f.access.ctx);
      alice = await f.login("alice");
      await admin("POST", R.groups, { name: "crew" });
      await admin("POST", R.pools, { name: "line" });
      await admin("POST", routePath(R.poolDevices, { name: "line" }), { add: ["press-7"] });
      await admin("POST", R.accessRules, { group: "crew", pool: "line" });
    });
    after(() => f?.close());

    test("a grant takes effect for the next stream: a member added to a group with a rule may connect at once", async () => {
      const bob = await f.login("bob");
      assert.equal(await verdict(bob), "not-found");
      await admin("POST", routePath(R.groupMembers, { name: "crew" }), { add: ["bob"] });
      assert.equal(await verdict(bob), "allowed");
    });

    test("a device added to a pool with a rule is reachable by the next stream", async () => {
      const bob = await f.login("bob");
      assert.equal(await verdict(bob, "press-8", "192.168.2.10:502"), "not-found");
      await admin("POST", routePath(R.poolDevices, { name: "line" }), { add: ["press-8"] });
      assert.equal(await verdict(bob, "press-8", "192.168.2.10:502"), "allowed");
    });

    test("an account policy that requires one-time codes restricts a kept session's next stream, and lifting it allows again", async () => {
      const bob = await f.login("bob");
      // The policy restricts alice's session too: an admin API token (never restricted) changes it.
      const made = await f.call("POST", USER_ROUTES.tokens, { token: alice, body: { name: "policy", role: "admin" } });
      const policy = async (requireOtp: boolean) =>
        assert.equal((await f.call("POST", USER_ROUTES.policy, { token: made.json.token, body: { requireOtp } })).status, 200);
      assert.equal(await verdict(bob), "allowed");
      await policy(true);
      assert.equal(await verdict(bob), "otp-enrollment-required");
      await policy(false);
      assert.equal(await verdict(bob), "allowed");
    });

    test("a removed user's kept session is refused at once", async () => {
      await admin("POST", USER_ROUTES.users, { name: "dave", password: FIXTURE_PASSWORD, role: "admin" });
      const login = await f.call("POST", ROUTES.login, { body: { account: "acme", user: "dave", password: FIXTURE_PASSWORD } });
      const dave = login.json.token as string;
      assert.equal(await verdict(dave), "allowed");
      await admin("DELETE", routePath(USER_ROUTES.user, { name: "dave" }));
      assert.equal(await verdict(dave), "unauthenticated");
    });

    test("a revoked rule refuses the next stream", async () => {
      const bob = await f.login("bob");
      assert.equal(await verdict(bob), "allowed");
      await admin("DELETE", routePath(R.accessRule, { group: "crew", pool: "line" }));
      assert.equal(await verdict(bob), "not-found");
      await admin("POST", R.accessRules, { group: "crew", pool: "line" });
      assert.equal(await verdict(bob), "allowed");
    });

    test("a decision is answered from memory: a rule deleted behind the service's back still allows until a change notice", async () => {
      const bob = await f.login("bob");
      assert.equal(await verdict(bob), "allowed");
      await f.access.ctx.db.deleteFrom("access_rules").execute();
      assert.equal(await verdict(bob), "allowed");
      await admin("POST", R.accessRules, { group: "crew", pool: "line" });
      assert.equal(await verdict(bob), "allowed");
    });

    test("a kept session ends with logout, and past its absolute end", async () => {
      const carol = await f.login("carol");
      assert.equal(await verdict(carol), "not-found");
      assert.equal((await f.call("POST", ROUTES.logout, { token: carol })).status, 200);
      assert.equal(await verdict(carol), "unauthenticated");

      const bob = await f.login("bob");
      assert.equal(await verdict(bob), "allowed");
      f.access.advance(SESSION_TTL_MS);
      try {
        assert.equal(await verdict(bob), "unauthenticated");
      } finally {
        f.access.advance(-SESSION_TTL_MS);
      }
    });

    test("a kept session is still touched once its last use is older than TOUCH_INTERVAL_MS", async () => {
      const bob = await f.login("bob");
      const first = await lastUsed(bob);
      assert.equal(await verdict(bob), "allowed");
      f.access.advance(TOUCH_INTERVAL_MS / 2);
      assert.equal(await verdict(bob), "allowed");
      assert.equal(await lastUsed(bob), first, "no write within the interval");
      f.access.advance(TOUCH_INTERVAL_MS / 2 + 1);
      assert.equal(await verdict(bob), "allowed");
      assert.equal(await lastUsed(bob), f.access.ctx.now().toISOString());
    });

    test("unknown tokens take no room in the cache", async () => {
      const before = streamCacheOf(f.access.ctx).credentials.size;
      for (let i = 0; i < 20; i++) assert.equal(await verdict(`not-a-token-${i}`), "unauthenticated");
      assert.equal(await verdict("flk_not-a-token"), "unauthenticated");
      assert.equal(streamCacheOf(f.access.ctx).credentials.size, before);
    });
  });
}
