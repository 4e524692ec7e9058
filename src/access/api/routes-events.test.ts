import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import type { LiveStream } from "../../protocol/relay-access.js";
import { type AccessFixture, openAccessFixture } from "../access-rules-fixture.js";
import { TEST_BACKENDS } from "../access-test-kit.js";
import { type ChangeEvent, createChangeFeed } from "../change-feed.js";
import type { ApiEnv } from "./env.js";
import { errorHandler } from "./errors.js";
import { sessionMiddleware } from "./route-kit.js";
import { registerEventRoutes, sseFrame } from "./routes-events.js";
import { type SseMessage, SseReader } from "./sse-test-kit.js";

/** Short intervals, so a test sees several heartbeats and byte counts in well under a second. */
const TIMING = { bytesIntervalMs: 40, heartbeatMs: 80 };

const isEvent = (name: string, data?: unknown) => (m: SseMessage) => m.event === name && (data === undefined || m.data === JSON.stringify(data));

/** Collects what arrives for `ms`. */
async function collect(reader: SseReader, ms: number): Promise<SseMessage[]> {
  const seen: SseMessage[] = [];
  const until = Date.now() + ms;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) return seen;
    try {
      const m = await reader.next(left);
      if (m === "end") return seen;
      seen.push(m);
    } catch {
      return seen;
    }
  }
}

test("an event is one `event:` line and one JSON `data:` line", () => {
  assert.equal(sseFrame("devices", { device: "press-7", online: true }), 'event: devices\ndata: {"device":"press-7","online":true}\n\n');
});

for (const backend of TEST_BACKENDS) {
  describe(`the live event stream on ${backend}`, () => {
    let f: AccessFixture;
    let server: Server;
    let url: string;
    const tokens: Record<"alice" | "bob" | "carol" | "olga", string> = { alice: "", bob: "", carol: "", olga: "" };
    const open = new Set<AbortController>();

    const events = async (token: string | undefined): Promise<{ res: Response; reader: SseReader; abort: () => void }> => {
      const controller = new AbortController();
      open.add(controller);
      const res = await fetch(`${url}/api/v1/events`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: controller.signal });
      const reader = new SseReader(res.body ?? Readable.from([]));
      return { res, reader, abort: () => controller.abort() };
    };
    const devices = (name: "press7" | "press8" | "mill3", online: boolean): ChangeEvent => {
      const d = f.devices[name];
      return { kind: "devices", accountId: d.account_id, deviceId: d.id, device: d.name, online };
    };
    const liveStream = (id: string, user: "bob" | "carol", bytes: [number, number]): LiveStream => {
      const u = f.users[user];
      return {
        streamId: id,
        request: { token: undefined, device: "press-7", target: { host: "192.168.1.10", port: 502 }, source: "192.0.2.9" },
        grant: {
          accountId: u.account_id,
          userId: u.id,
          userName: u.name,
          sessionId: "s",
          deviceId: f.devices.press7.id,
          deviceName: "press-7",
          lastSeen: null,
          allowedTargets: [],
        },
        startedAt: f.access.ctx.now(),
        bytesUp: bytes[0],
        bytesDown: bytes[1],
      };
    };
    const opened = (s: LiveStream): ChangeEvent => ({
      kind: "streams",
      accountId: s.grant.accountId,
      streamId: s.streamId,
      userId: s.grant.userId,
      change: "opened",
    });

    before(async () => {
      f = await openAccessFixture(backend);
      for (const user of ["alice", "bob", "carol", "olga"] as const) tokens[user] = await f.login(user);
      // bob may view press-7 (not press-8); carol has no rule.
      const admin = (path: string, body: unknown) => f.call("POST", path, { token: tokens.alice, body });
      await admin("/api/v1/groups", { name: "viewers" });
      await admin("/api/v1/pools", { name: "line-7" });
      await admin("/api/v1/groups/viewers/members", { add: ["bob"] });
      await admin("/api/v1/pools/line-7/devices", { add: ["press-7"] });
      assert.equal((await admin("/api/v1/access-rules", { group: "viewers", pool: "line-7", level: "view" })).status, 201);

      const app = new Hono<ApiEnv>();
      app.onError(errorHandler(f.access.ctx.log));
      app.use("/api/*", async (c, next) => {
        c.set("source", "192.0.2.1");
        await next();
      });
      registerEventRoutes({ app, ctx: f.access.ctx, auth: sessionMiddleware(f.access.ctx) }, TIMING);
      server = createServer(getRequestListener(app.fetch));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async () => {
      for (const c of open) c.abort();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      await f?.close();
    });

    test("a caller without a session is refused with 401 and no event stream", async () => {
      const { res } = await events(undefined);
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "unauthenticated");
    });

    test("the stream starts with a retry hint and sends heartbeat comments", async () => {
      const { res, reader, abort } = await events(tokens.alice);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
      assert.deepEqual(await reader.next(), { retry: 5000 });
      assert.deepEqual(await reader.waitFor((m) => m.comment !== undefined), { comment: "heartbeat" });
      abort();
    });

    test("an admin is told of the account's devices going online and offline, never of another account's", async () => {
      const { reader, abort } = await events(tokens.alice);
      await reader.next();
      f.access.ctx.changes.publish(devices("mill3", true));
      f.access.ctx.changes.publish(devices("press8", true));
      f.access.ctx.changes.publish(devices("press7", false));
      const seen: SseMessage[] = [];
      await reader.waitFor((m) => {
        seen.push(m);
        return isEvent("devices", { device: "press-7", online: false })(m);
      });
      assert.deepEqual(
        seen.filter((m) => m.event).map((m) => m.data),
        ['{"device":"press-8","online":true}', '{"device":"press-7","online":false}'],
      );
      abort();
    });

    test("a member is told only of the devices an access rule shows them", async () => {
      const bob = await events(tokens.bob);
      const carol = await events(tokens.carol);
      f.access.ctx.changes.publish(devices("press8", true));
      f.access.ctx.changes.publish(devices("press7", true));
      await bob.reader.waitFor(isEvent("devices", { device: "press-7", online: true }));
      const later = await collect(bob.reader, TIMING.heartbeatMs * 3);
      assert.deepEqual(
        later.filter((m) => m.event === "devices"),
        [],
      );
      assert.deepEqual(
        (await collect(carol.reader, TIMING.heartbeatMs * 2)).filter((m) => m.event),
        [],
      );
      bob.abort();
      carol.abort();
    });

    test("streams and bytes: an admin hears of the account's streams, a member only of their own", async () => {
      const alice = await events(tokens.alice);
      const bob = await events(tokens.bob);
      const carol = await events(tokens.carol);
      const olga = await events(tokens.olga);
      const s = liveStream("bob-1", "bob", [100, 2000]);
      f.access.live.streams.push(s);
      f.access.ctx.changes.publish(opened(s));
      await alice.reader.waitFor(isEvent("streams", { count: 1 }));
      await bob.reader.waitFor(isEvent("streams", { count: 1 }));
      await alice.reader.waitFor(isEvent("bytes", { count: 1, bytesUp: 100, bytesDown: 2000 }));
      s.bytesUp = 150;
      await bob.reader.waitFor(isEvent("bytes", { count: 1, bytesUp: 150, bytesDown: 2000 }));
      for (const other of [carol, olga]) {
        assert.deepEqual(
          (await collect(other.reader, TIMING.bytesIntervalMs * 4)).filter((m) => m.event),
          [],
          "no events for a stream that is not theirs",
        );
      }
      f.access.live.streams = f.access.live.streams.filter((x) => x !== s);
      f.access.ctx.changes.publish({ ...opened(s), change: "closed" } as ChangeEvent);
      await alice.reader.waitFor(isEvent("streams", { count: 0 }));
      // No bytes once nothing is live.
      await collect(alice.reader, TIMING.bytesIntervalMs);
      assert.deepEqual(
        (await collect(alice.reader, TIMING.bytesIntervalMs * 4)).filter((m) => m.event === "bytes"),
        [],
      );
      for (const x of [alice, bob, carol, olga]) x.abort();
    });

    test("a client that goes away leaves no listener behind", async () => {
      const saved = f.access.ctx.changes;
      const feed = createChangeFeed();
      f.access.ctx.changes = feed;
      try {
        const { reader, abort } = await events(tokens.alice);
        await reader.next();
        assert.equal(feed.size(), 1);
        abort();
        for (let i = 0; i < 50 && feed.size() > 0; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(feed.size(), 0);
      } finally {
        f.access.ctx.changes = saved;
      }
    });

    test("too many open streams are refused with 429 throttled before any event", async () => {
      const saved = f.access.ctx.changes;
      f.access.ctx.changes = createChangeFeed({ maxPerAccount: 1 });
      try {
        const first = await events(tokens.alice);
        assert.equal(first.res.status, 200);
        const second = await events(tokens.alice);
        assert.equal(second.res.status, 429);
        assert.equal(((await second.res.json()) as { error: { code: string } }).error.code, "throttled");
        first.abort();
      } finally {
        f.access.ctx.changes = saved;
      }
    });

    test("closing the change feed (server shutdown) ends every open stream", async () => {
      const saved = f.access.ctx.changes;
      f.access.ctx.changes = createChangeFeed();
      try {
        const a = await events(tokens.alice);
        const b = await events(tokens.bob);
        await a.reader.next();
        f.access.ctx.changes.close();
        await a.reader.ended(1_000);
        await b.reader.ended(1_000);
      } finally {
        f.access.ctx.changes = saved;
      }
    });

    test("the stream ends at the next heartbeat once the session is ended", async () => {
      const token = await f.login("carol");
      const { reader } = await events(token);
      await reader.next();
      assert.equal((await f.call("POST", "/api/v1/logout", { token })).status, 200);
      await reader.ended(TIMING.heartbeatMs * 5);
    });

    test("heartbeats do not keep an idle session alive", async () => {
      const token = await f.login("carol");
      const session = () => f.access.ctx.db.selectFrom("sessions").select(["id", "last_used_at"]).orderBy("created_at", "desc").orderBy("id").execute();
      const before = await session();
      const { reader, abort } = await events(token);
      await reader.next();
      f.access.advance(5 * 60_000);
      await reader.waitFor((m) => m.comment !== undefined);
      await reader.waitFor((m) => m.comment !== undefined);
      assert.deepEqual(await session(), before);
      abort();
    });

    // Last: it moves the clock past every session's end.
    test("the stream ends at the next heartbeat once the session has expired", async () => {
      const { reader } = await events(tokens.olga);
      await reader.next();
      f.access.advance(25 * 60 * 60_000);
      await reader.ended(TIMING.heartbeatMs * 5);
    });
  });
}
