import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LiveStream } from "../protocol/relay-access.js";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "./access-test-kit.js";
import { addApiToken, revokeAccountApiToken } from "./api-tokens.js";
import type { Principal } from "./context.js";
import { cutStreamsOfEndedSessions } from "./session-streams.js";
import { SESSION_IDLE_MS, TOUCH_INTERVAL_MS } from "./session-times.js";
import { authenticate, initAccount, login } from "./sessions.js";
import { changePassword } from "./users.js";

const PASSWORD = "correct horse battery staple";
const MINUTE_MS = 60_000;

for (const backend of TEST_BACKENDS) {
  describe(`live streams end with their session or API token on ${backend}`, () => {
    let t: TestAccess;
    let n = 0;

    /** A fresh account with admin alice, and a signed-in session of hers. */
    async function account(): Promise<{ name: string; session: () => Promise<{ token: string; who: Principal }> }> {
      const name = `ends-${++n}`;
      await initAccount(t.ctx, { account: name, user: "alice", password: PASSWORD });
      return {
        name,
        session: async () => {
          const { token } = await login(t.ctx, { account: name, user: "alice", password: PASSWORD }, `198.51.100.${n}`);
          return { token, who: await authenticate(t.ctx, token, "test") };
        },
      };
    }

    /** A live stream of `who` as the relay lists it; `via` marks a portal HMI page or VNC panel. */
    function stream(streamId: string, who: Principal, token: string, via?: string): LiveStream {
      return {
        streamId,
        request: { token, device: "press-7", target: { host: "10.0.0.1", port: 80 }, source: "test", ...(via ? { via } : {}) },
        grant: {
          accountId: who.accountId,
          userId: who.userId,
          userName: who.userName,
          sessionId: who.sessionId,
          ...(who.tokenName ? { tokenName: who.tokenName } : {}),
          deviceId: "d",
          deviceName: "press-7",
          lastSeen: null,
          allowedTargets: [],
        },
        startedAt: t.ctx.now(),
        bytesUp: 0,
        bytesDown: 0,
      };
    }

    const liveIds = (): string[] => t.live.streams.map((s) => s.streamId).sort();

    before(async () => {
      t = await openTestAccess(backend);
    });
    after(() => t.close());

    it("a session past its absolute end loses its CLI stream and its portal HMI and VNC streams; another session keeps its own", async () => {
      const a = await account();
      const ending = await a.session();
      // In use all along, so only the absolute end can end it.
      const endsAt = Date.parse(ending.who.expiresAt!);
      while (t.ctx.now().getTime() + 50 * MINUTE_MS < endsAt - 10 * MINUTE_MS) {
        t.advance(50 * MINUTE_MS);
        await authenticate(t.ctx, ending.token, "test");
      }
      t.advance(endsAt - 10 * MINUTE_MS - t.ctx.now().getTime());
      const fresh = await a.session();
      t.live.streams.push(
        stream("cli", ending.who, ending.token),
        stream("hmi", ending.who, ending.token, "web-target:w1"),
        stream("vnc", ending.who, ending.token, "web-target:w2"),
        stream("other", fresh.who, fresh.token),
      );
      assert.equal(await cutStreamsOfEndedSessions(t.ctx), 0, "nothing ends before the end");
      t.advance(10 * MINUTE_MS);
      assert.equal(await cutStreamsOfEndedSessions(t.ctx), 3);
      assert.deepEqual(liveIds(), ["other"]);
      t.live.streams.length = 0;
    });

    it("a session idle past the limit loses its streams; bytes sent on a stream are use, as a request is", async () => {
      const a = await account();
      const busy = await a.session();
      const silent = await a.session();
      t.live.streams.push(stream("busy", busy.who, busy.token), stream("silent", silent.who, silent.token));
      t.advance(SESSION_IDLE_MS / 2);
      // The busy session's stream carried bytes from the user: its last use moves to now.
      assert.equal(await cutStreamsOfEndedSessions(t.ctx, { used: new Set([busy.who.sessionId]) }), 0);
      t.advance(SESSION_IDLE_MS / 2 + TOUCH_INTERVAL_MS + 1);
      assert.equal(await cutStreamsOfEndedSessions(t.ctx), 1);
      assert.deepEqual(liveIds(), ["busy"]);
      await authenticate(t.ctx, busy.token, "test");
      await assert.rejects(authenticate(t.ctx, silent.token, "test"), { code: "unauthenticated" });
      t.live.streams.length = 0;
    });

    it("passwd cuts the streams of the user's other sessions in the same call, and keeps those of the session it ran in", async () => {
      const a = await account();
      const stolen = await a.session();
      const desk = await a.session();
      t.live.streams.push(
        stream("stolen", stolen.who, stolen.token),
        stream("stolen-hmi", stolen.who, stolen.token, "web-target:w1"),
        stream("desk", desk.who, desk.token),
      );
      await changePassword(t.ctx, desk.who, { currentPassword: PASSWORD, newPassword: "a new and much longer password" });
      assert.deepEqual(liveIds(), ["desk"]);
      t.live.streams.length = 0;
    });

    it("revoking an API token cuts its streams in the same call, and an expired token's streams go at the next sweep", async () => {
      const a = await account();
      const { who: alice, token: aliceToken } = await a.session();
      const ci = await addApiToken(t.ctx, alice, { name: "ci", role: "admin" });
      const nightly = await addApiToken(t.ctx, alice, { name: "nightly", role: "admin", expiresDays: 1 });
      const ciWho = await authenticate(t.ctx, ci.token, "test");
      const nightlyWho = await authenticate(t.ctx, nightly.token, "test");
      assert.equal(ciWho.tokenName, "ci");
      t.live.streams.push(stream("ci", ciWho, ci.token), stream("nightly", nightlyWho, nightly.token), stream("alice", alice, aliceToken));
      await revokeAccountApiToken(t.ctx, alice, "ci");
      assert.deepEqual(liveIds(), ["alice", "nightly"]);
      t.advance(24 * 60 * MINUTE_MS);
      const later = await a.session();
      t.live.streams.push(stream("alice-later", later.who, later.token));
      // The token's stream and that of alice's session (idle, then past its end) go; the new session's stays.
      assert.equal(await cutStreamsOfEndedSessions(t.ctx), 2);
      assert.deepEqual(liveIds(), ["alice-later"]);
      t.live.streams.length = 0;
    });
  });
}
