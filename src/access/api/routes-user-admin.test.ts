import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openTestAccess, type TestAccess } from "../access-test-kit.js";
import { initAccount } from "../sessions.js";
import { createApiApp } from "./app.js";

const PASSWORD = "correct horse battery staple";
const ONE_TIME = "a one-time passphrase 42";

describe("an admin's controls over other users and sessions, in process", () => {
  let t: TestAccess;
  let app: ReturnType<typeof createApiApp>;
  let source = "198.51.100.1";
  const call = async (method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.token) headers["authorization"] = `Bearer ${options.token}`;
    const init = { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) };
    const res = await app.request(path, init, { incoming: { socket: { remoteAddress: source } } } as never);
    // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON loosely and assert on its shape
    return { status: res.status, json: (await res.json()) as any };
  };
  const login = (account: string, user: string, password = PASSWORD) => call("POST", "/api/v1/login", { body: { account, user, password } });
  const token = async (account: string, user: string, password = PASSWORD): Promise<string> => {
    const res = await login(account, user, password);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.token as string;
  };
  const audit = async (accountName: string, action: string) => {
    await t.ctx.work.drain(5_000);
    const account = await t.ctx.db.selectFrom("accounts").select("id").where("name", "=", accountName).executeTakeFirstOrThrow();
    return t.ctx.db.selectFrom("audit").selectAll().where("account_id", "=", account.id).where("action", "=", action).orderBy("seq").execute();
  };
  let n = 0;
  /** A fresh account with admin alice (logged in) and member bob (logged in). */
  const site = async () => {
    const account = `ctl-${++n}`;
    source = `198.51.100.${n}`;
    await initAccount(t.ctx, { account, user: "alice", password: PASSWORD });
    const admin = await token(account, "alice");
    assert.equal((await call("POST", "/api/v1/users", { token: admin, body: { name: "bob", password: PASSWORD } })).status, 201);
    return { account, admin, member: await token(account, "bob") };
  };

  before(async () => {
    t = await openTestAccess("SQLite");
    app = createApiApp(t.ctx);
  });
  after(() => t.close());

  it("a locked user's sessions and API tokens stop working and the right password is told why; unlock restores", async () => {
    const { account, admin, member } = await site();
    await call("POST", "/api/v1/users/bob/role", { token: admin, body: { role: "admin" } });
    const bob = await token(account, "bob");
    const made = await call("POST", "/api/v1/tokens", { token: bob, body: { name: "bobs-ci" } });
    const locked = await call("POST", "/api/v1/users/bob/lock", { token: admin });
    assert.deepEqual([locked.status, locked.json.adminLocked], [200, true]);
    for (const credential of [member, bob]) assert.equal((await call("GET", "/api/v1/whoami", { token: credential })).json.error.code, "unauthenticated");
    const byToken = await call("GET", "/api/v1/whoami", { token: made.json.token });
    assert.equal(byToken.json.error.code, "user-locked");
    const refused = await login(account, "bob");
    assert.equal(refused.json.error.code, "user-locked");
    assert.match(refused.json.error.message, /fernlink user unlock bob/);
    assert.equal((await login(account, "bob", "not bob's password at all")).json.error.code, "login-failed", "a wrong password learns nothing");
    assert.equal((await call("POST", "/api/v1/users/alice/lock", { token: admin })).json.error.code, "conflict", "not yourself");
    const unlocked = await call("POST", "/api/v1/users/bob/unlock", { token: admin });
    assert.deepEqual([unlocked.json.adminLocked, unlocked.json.locked], [false, false]);
    assert.equal((await login(account, "bob")).status, 200);
    assert.equal((await call("GET", "/api/v1/whoami", { token: made.json.token })).status, 200);
    assert.deepEqual(
      (await audit(account, "user.lock")).map((r) => [r.result, r.reason?.split(";")[1]?.trim()]),
      [
        ["ok", "2 session(s) ended"],
        ["denied", "ask another admin of the account"],
      ],
    );
    assert.match((await audit(account, "user.unlock")).at(-1)?.reason ?? "", /^was locked by an admin since /);
  });

  it("a reset password ends the user's sessions and restricts the next one to passwd, which lifts it", async () => {
    const { account, admin, member } = await site();
    const reset = await call("POST", "/api/v1/users/bob/reset-password", { token: admin, body: { password: ONE_TIME } });
    assert.deepEqual([reset.status, reset.json.mustChangePassword], [200, true]);
    assert.equal((await call("GET", "/api/v1/whoami", { token: member })).status, 401);
    const reply = await login(account, "bob", ONE_TIME);
    assert.equal(reply.json.restriction, "password-change-required");
    const restricted = await call("GET", "/api/v1/devices", { token: reply.json.token });
    assert.deepEqual([restricted.status, restricted.json.error.code], [403, "password-change-required"]);
    assert.equal(restricted.json.error.message, "you must change your password: fernlink user passwd");
    const same = await call("POST", "/api/v1/passwd", { token: reply.json.token, body: { currentPassword: ONE_TIME, newPassword: ONE_TIME } });
    assert.equal(same.json.error.code, "password-reused", "the one-time password is not kept");
    const changed = await call("POST", "/api/v1/passwd", {
      token: reply.json.token,
      body: { currentPassword: ONE_TIME, newPassword: "bob's own new passphrase" },
    });
    assert.equal(changed.status, 200);
    assert.equal((await call("GET", "/api/v1/devices", { token: reply.json.token })).status, 200);
    assert.equal((await call("POST", "/api/v1/users/alice/reset-password", { token: admin, body: { password: ONE_TIME } })).json.error.code, "conflict");
    assert.deepEqual(
      (await audit(account, "user.reset-password")).map((r) => r.result),
      ["ok", "denied"],
    );
  });

  it("reset-otp removes a user's one-time codes, so the password alone signs in again", async () => {
    const { account, admin, member } = await site();
    assert.equal((await call("POST", "/api/v1/otp/enable", { token: member })).status, 200);
    assert.equal((await login(account, "bob")).json.error.code, "otp-required");
    const reset = await call("POST", "/api/v1/users/bob/reset-otp", { token: admin });
    assert.deepEqual([reset.status, reset.json.otpEnabled], [200, false]);
    assert.equal((await login(account, "bob")).status, 200);
    assert.equal((await audit(account, "user.reset-otp"))[0]?.reason, "one-time codes removed");
  });

  it("a role changes both ways, but the account's last admin stays admin", async () => {
    const { account, admin, member } = await site();
    const last = await call("POST", "/api/v1/users/alice/role", { token: admin, body: { role: "member" } });
    assert.equal(last.json.error.code, "conflict");
    assert.match(last.json.error.message, /last admin/);
    assert.equal((await call("POST", "/api/v1/users/bob/role", { token: admin, body: { role: "admin" } })).json.role, "admin");
    assert.equal((await call("GET", "/api/v1/users", { token: member })).status, 200, "bob's session acts as admin at once");
    assert.equal((await call("POST", "/api/v1/users/alice/role", { token: member, body: { role: "member" } })).json.role, "member");
    assert.equal((await call("GET", "/api/v1/users", { token: admin })).json.error.code, "forbidden");
    assert.deepEqual(
      (await audit(account, "user.role")).filter((r) => r.result === "ok").map((r) => r.reason),
      ["member → admin", "admin → member"],
    );
  });

  it("an admin lists every session with its user, source and kind and ends any; a member sees and ends only their own", async () => {
    const { account, admin, member } = await site();
    const all = await call("GET", "/api/v1/sessions", { token: admin });
    assert.deepEqual(all.json.map((s: { user: string; kind: string; source: string; current: boolean }) => [s.user, s.kind, s.source, s.current]).sort(), [
      ["alice", "cli", source, true],
      ["bob", "cli", source, false],
    ]);
    const own = await call("GET", "/api/v1/sessions", { token: member });
    assert.deepEqual(
      own.json.map((s: { user: string }) => s.user),
      ["bob"],
    );
    const alices = all.json.find((s: { user: string }) => s.user === "alice").id as string;
    assert.equal((await call("DELETE", `/api/v1/sessions/${alices}`, { token: member })).json.error.code, "not-found");
    assert.equal((await call("DELETE", `/api/v1/sessions/${own.json[0].id}`, { token: admin })).status, 200);
    const ended = await call("GET", "/api/v1/whoami", { token: member });
    assert.deepEqual([ended.status, ended.json.error.code], [401, "unauthenticated"]);
    assert.match(ended.json.error.message, /ended/);
    assert.equal((await audit(account, "session.end")).filter((r) => r.result === "ok").length, 1);
  });
});
