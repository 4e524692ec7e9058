import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FernlinkError } from "../../protocol/errors.js";
import type { StreamGrant } from "../../protocol/relay-access.js";
import { openTestAccess, type TestAccess } from "../access-test-kit.js";
import type { AccessContext } from "../context.js";
import { hashPassword } from "../password.js";
import { initAccount } from "../sessions.js";
import { findAccountByName } from "../store/accounts.js";
import type { Store } from "../store/index.js";
import { createUser } from "../store/users.js";
import { createStreamAudit } from "../stream-audit.js";
import { createApiApp } from "./app.js";

const PASSWORD = "correct horse battery staple";
const T0 = new Date("2026-11-27T10:00:00.000Z");

describe("the audit, verification and report routes, in process", () => {
  let t: TestAccess;
  let store: Store;
  let ctx: AccessContext;
  let app: ReturnType<typeof createApiApp>;
  let admin: string;
  let member: string;

  const get = async (path: string, token?: string) => {
    const res = await app.request(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON loosely and assert on its shape
    return { status: res.status, json: (await res.json()) as any };
  };
  const loginAs = async (account: string, user: string): Promise<string> => {
    const res = await app.request("/api/v1/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ account, user, password: PASSWORD }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { token: string }).token;
  };
  const tick = (seconds: number): Date => {
    t.advance(seconds * 1000);
    return ctx.now();
  };

  before(async () => {
    t = await openTestAccess("SQLite", T0);
    ({ ctx, store } = t);
    app = createApiApp(ctx);
    for (const account of ["acme", "tampered", "other"]) await initAccount(ctx, { account, user: "alice", password: PASSWORD });
    const acme = (await findAccountByName(store.db, "acme"))!;
    await createUser(store.db, { accountId: acme.id, name: "max", passwordHash: await hashPassword(PASSWORD), role: "member", now: ctx.now() });
    admin = await loginAs("acme", "alice");
    member = await loginAs("acme", "max");

    // Two streams of alice and one refusal, as the relay reports them.
    const record = createStreamAudit(ctx);
    const grant: StreamGrant = {
      accountId: acme.id,
      userId: "u",
      userName: "alice",
      sessionId: "s",
      deviceId: "d",
      deviceName: "press-7",
      lastSeen: null,
      allowedTargets: ["192.168.1.10"],
    };
    const request = (port: number) => ({ token: "t", device: "press-7", target: { host: "192.168.1.10", port }, source: "10.0.0.9" });
    record({ kind: "opened", streamId: "s-1", request: request(502), grant, at: tick(60) });
    record({ kind: "closed", streamId: "s-1", bytesUp: 12, bytesDown: 25, error: undefined, at: tick(90) });
    record({ kind: "opened", streamId: "s-2", request: request(80), grant, at: tick(60) });
    record({ kind: "closed", streamId: "s-2", bytesUp: 300, bytesDown: 4000, error: new Error("reset by peer"), at: tick(5) });
    const refusal = new FernlinkError("target-not-allowed", "192.168.2.1:22 is outside the LAN");
    record({
      kind: "refused",
      request: request(22),
      requester: { accountId: acme.id, userId: "u", userName: "alice", role: "admin", sessionId: "s" },
      grant,
      error: refusal,
      at: tick(1),
    });
    await ctx.work.drain(5000);
  });
  after(() => t.close());

  test("a member is refused the audit, its verification and the report, and each refusal is audited", async () => {
    for (const path of ["/api/v1/audit", "/api/v1/audit/verify", "/api/v1/reports/connections"]) {
      const res = await get(path, member);
      assert.equal(res.status, 403, path);
      assert.equal(res.json.error.code, "forbidden", path);
    }
    const refusals = (await get("/api/v1/audit?user=max", admin)).json.filter((r: { result: string }) => r.result === "denied");
    assert.deepEqual(refusals.map((r: { action: string }) => r.action).sort(), ["audit.list", "audit.verify", "report.connections"]);
  });

  test("the routes need a session", async () => {
    assert.equal((await get("/api/v1/audit/verify")).json.error.code, "unauthenticated");
  });

  test("a stream leaves an open record and one closing record with start, end and bytes", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON loosely and asserts on its shape
    const records = (await get("/api/v1/audit?device=press-7", admin)).json as any[];
    const s1 = records.filter((r) => r.object === "s-1");
    assert.deepEqual(
      s1.map((r) => r.action),
      ["stream", "stream.open"],
    );
    const [closed, opened] = s1;
    assert.deepEqual([closed.startedAt, closed.endedAt, closed.at], [opened.at, closed.at, closed.endedAt]);
    assert.deepEqual([closed.result, closed.bytesUp, closed.bytesDown, closed.reason], ["ok", 12, 25, null]);
    const s2 = records.find((r) => r.object === "s-2" && r.action === "stream");
    assert.deepEqual([s2.result, s2.reason], ["ok", "ended abnormally: reset by peer"]);
    const refused = records.find((r) => r.action === "stream" && r.result === "denied");
    assert.match(refused.reason, /^target-not-allowed: /);
  });

  test("the audit is newest first and filtered by since, user and device", async () => {
    const all = (await get("/api/v1/audit?limit=1000", admin)).json as { seq: number; at: string; actor: string; device: string | null }[];
    assert.deepEqual(
      all.map((r) => r.seq),
      [...all.map((r) => r.seq)].sort((a, b) => b - a),
    );
    const since = new Date(T0.getTime() + 150 * 1000).toISOString();
    const recent = (await get(`/api/v1/audit?since=${since}`, admin)).json as { at: string }[];
    assert.ok(recent.length > 0 && recent.every((r) => r.at >= since));
    assert.ok(recent.length < all.length);
    assert.ok((await get("/api/v1/audit?user=max", admin)).json.every((r: { actor: string }) => r.actor === "max"));
    assert.equal((await get("/api/v1/audit?device=press-7", admin)).json.length, 5);
  });

  test("pages continue before the last seq seen", async () => {
    const first = (await get("/api/v1/audit?limit=2", admin)).json as { seq: number }[];
    const next = (await get(`/api/v1/audit?limit=2&before=${first[1]!.seq}`, admin)).json as { seq: number }[];
    assert.equal(next.length, 2);
    assert.ok(next[0]!.seq < first[1]!.seq);
  });

  test("unknown and malformed query parameters are refused as invalid-input", async () => {
    for (const query of ["limit=0", "limit=abc", "since=yesterday", "user=a%20b", "everything=1"]) {
      const res = await get(`/api/v1/audit?${query}`, admin);
      assert.equal(res.status, 400, query);
      assert.equal(res.json.error.code, "invalid-input", query);
    }
    assert.equal((await get("/api/v1/audit/verify?expectHead=12", admin)).json.error.code, "invalid-input");
    assert.equal((await get("/api/v1/reports/connections?before=-1", admin)).json.error.code, "invalid-input");
  });

  test("the connection report lists finished streams with duration, bytes and how they ended", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON loosely and asserts on its shape
    const report = (await get("/api/v1/reports/connections", admin)).json as any[];
    assert.deepEqual(
      report.map((r) => [r.user, r.device, r.target, r.durationMs, r.bytesUp, r.bytesDown, r.note]),
      [
        ["alice", "press-7", "192.168.1.10:80", 5000, 300, 4000, "ended abnormally: reset by peer"],
        ["alice", "press-7", "192.168.1.10:502", 90_000, 12, 25, null],
      ],
    );
    const s1End = new Date(T0.getTime() + 150 * 1000).toISOString();
    // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON loosely and asserts on its shape
    const since = (await get(`/api/v1/reports/connections?since=${s1End}`, admin)).json as any[];
    assert.equal(since.length, 2, "a stream that ended at the given time still counts");
    // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON loosely and asserts on its shape
    const later = (await get(`/api/v1/reports/connections?since=${new Date(T0.getTime() + 151 * 1000).toISOString()}`, admin)).json as any[];
    assert.deepEqual(
      later.map((r) => r.target),
      ["192.168.1.10:80"],
    );
  });

  test("verification reports the chain OK with its head, and is audited", async () => {
    const res = await get("/api/v1/audit/verify", admin);
    assert.equal(res.status, 200);
    assert.equal(res.json.ok, true);
    assert.equal(res.json.problem, null);
    assert.equal(res.json.head.count, res.json.records);
    assert.match(res.json.head.hash, /^[0-9a-f]{64}$/);
    const kept = `${res.json.head.seq}:${res.json.head.hash}`;
    assert.equal((await get(`/api/v1/audit/verify?expectHead=${kept}`, admin)).json.ok, true);
    const [latest] = (await get("/api/v1/audit?limit=1", admin)).json;
    assert.deepEqual([latest.action, latest.result], ["audit.verify", "ok"]);
  });

  test("an altered record is named, and another account's chain is unaffected", async () => {
    const token = await loginAs("tampered", "alice");
    const [login] = (await get("/api/v1/audit?limit=1", token)).json;
    await store.db.updateTable("audit").set({ source: "203.0.113.5" }).where("id", "=", login.id).execute();
    const res = await get("/api/v1/audit/verify", token);
    assert.equal(res.json.ok, false);
    assert.deepEqual([res.json.problem.kind, res.json.problem.seq, res.json.problem.record.id], ["altered", login.seq, login.id]);
    assert.match(res.json.problem.message, new RegExp(`seq ${login.seq}\\b`));
    assert.equal((await get("/api/v1/audit/verify", admin)).json.ok, true);
  });

  test("a kept head whose record was removed is reported as missing", async () => {
    const token = await loginAs("other", "alice");
    const { head } = (await get("/api/v1/audit/verify", token)).json;
    const chain = (await findAccountByName(store.db, "other"))!.id;
    await store.db.deleteFrom("audit").where("account_id", "=", chain).where("seq", ">=", head.seq).execute();
    const left = await store.db.selectFrom("audit").select(["seq", "hash"]).where("account_id", "=", chain).orderBy("seq", "desc").execute();
    // Truncation with the head row rewritten to the last record left: consistent without a kept head.
    await store.db.updateTable("audit_heads").set({ seq: left[0]!.seq, hash: left[0]!.hash!, count: left.length }).where("chain", "=", chain).execute();
    assert.equal((await get("/api/v1/audit/verify", token)).json.ok, true);
    const res = await get(`/api/v1/audit/verify?expectHead=${head.seq}:${head.hash}`, token);
    assert.deepEqual([res.json.ok, res.json.problem.kind, res.json.problem.seq], [false, "missing", head.seq]);
  });

  test("another account's admin sees none of these records", async () => {
    const token = await loginAs("other", "alice");
    const records = (await get("/api/v1/audit?limit=1000", token)).json as { device: string | null }[];
    assert.ok(records.every((r) => r.device !== "press-7"));
    assert.deepEqual((await get("/api/v1/reports/connections", token)).json, []);
  });
});
