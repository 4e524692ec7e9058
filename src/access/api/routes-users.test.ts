import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openTestAccess, type TestAccess } from "../access-test-kit.js";
import { initAccount } from "../sessions.js";
import { totpCode, totpStep } from "../totp.js";
import { createApiApp } from "./app.js";

const PASSWORD = "correct horse battery staple";
const DAY = 24 * 3600 * 1000;

describe("user, password, one-time-code, policy and token routes, in process", () => {
  let t: TestAccess;
  let app: ReturnType<typeof createApiApp>;

  // Each test calls from its own address, so the per-source login throttle of one does not reach the next.
  let source = "192.0.2.1";
  const call = async (method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.token) headers["authorization"] = `Bearer ${options.token}`;
    const init = { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) };
    const res = await app.request(path, init, { incoming: { socket: { remoteAddress: source } } } as never);
    // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON loosely and assert on its shape
    return { status: res.status, json: (await res.json()) as any };
  };
  const login = async (account: string, user: string, password = PASSWORD, otp?: string) =>
    call("POST", "/api/v1/login", { body: { account, user, password, ...(otp ? { otp } : {}) } });
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
  /** A fresh account with admin alice (logged in) and member bob. */
  const site = async () => {
    const account = `acme-${++n}`;
    source = `192.0.2.${n}`;
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

  it("an admin adds users and lists them with role, lock, one-time-code and password times", async () => {
    const { admin } = await site();
    const added = await call("POST", "/api/v1/users", { token: admin, body: { name: "carol", role: "admin", password: PASSWORD } });
    assert.equal(added.json.role, "admin");
    const list = await call("GET", "/api/v1/users", { token: admin });
    assert.deepEqual(
      list.json.map((u: { name: string }) => u.name),
      ["alice", "bob", "carol"],
    );
    assert.deepEqual(Object.keys(list.json[1]).sort(), [
      "adminLocked",
      "createdAt",
      "locked",
      "lockedUntil",
      "mustChangePassword",
      "name",
      "otpEnabled",
      "passwordChangedAt",
      "role",
    ]);
    assert.equal(list.json[1].role, "member");
    const again = await call("POST", "/api/v1/users", { token: admin, body: { name: "bob", password: PASSWORD } });
    assert.equal(again.json.error.code, "conflict");
  });

  it("a member is refused every admin route here with forbidden, and each refusal is audited", async () => {
    const { account, member } = await site();
    const attempts: [string, string, unknown?][] = [
      ["GET", "/api/v1/users"],
      ["POST", "/api/v1/users", { name: "eve", role: "admin", password: PASSWORD }],
      ["DELETE", "/api/v1/users/alice"],
      ["POST", "/api/v1/users/alice/unlock"],
      ["POST", "/api/v1/account/policy", { minLength: 8 }],
      ["GET", "/api/v1/tokens"],
      ["POST", "/api/v1/tokens", { name: "mine", role: "admin" }],
      ["DELETE", "/api/v1/tokens/any"],
    ];
    for (const [method, path, body] of attempts) {
      const res = await call(method, path, { token: member, ...(body ? { body } : {}) });
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.equal(res.json.error.code, "forbidden", `${method} ${path}`);
    }
    await t.ctx.work.drain(5_000);
    const denied = await t.ctx.db.selectFrom("audit").select("action").where("actor", "=", "bob").where("result", "=", "denied").execute();
    assert.deepEqual(denied.map((r) => r.action).sort(), [
      "account.policy",
      "token.add",
      "token.list",
      "token.revoke",
      "user.add",
      "user.list",
      "user.remove",
      "user.unlock",
    ]);
    assert.equal((await call("GET", "/api/v1/account/policy", { token: member })).json.minLength, 12, "members may read the policy");
    assert.ok((await audit(account, "user.add")).some((r) => r.result === "denied"));
  });

  it("a new user's password is checked against the policy, the common list and the names", async () => {
    const { account, admin } = await site();
    const add = (name: string, password: string) => call("POST", "/api/v1/users", { token: admin, body: { name, password } });
    assert.equal((await add("dave", "short")).json.error.code, "password-too-short");
    assert.equal((await add("dave", "Qwerty123456")).json.error.code, "password-too-common");
    assert.equal((await add("dave-the-engineer", "Dave-The-Engineer")).json.error.code, "password-is-name");
    assert.equal((await add("dave", "x".repeat(1025))).json.error.code, "invalid-input");
    assert.equal(
      (await call("POST", "/api/v1/users", { token: admin, body: { name: "dave", password: PASSWORD, admin: true } })).json.error.code,
      "invalid-input",
    );
    const denied = (await audit(account, "user.add")).filter((r) => r.result === "denied").map((r) => r.reason?.split(":")[0]);
    assert.deepEqual(denied, ["password-too-short", "password-too-common", "password-is-name"]);
  });

  it("passwd checks the current password and the history, then ends every other session of the user", async () => {
    const { account, admin } = await site();
    await call("POST", "/api/v1/account/policy", { token: admin, body: { history: 2 } });
    const other = await token(account, "bob");
    const mine = await token(account, "bob");
    const passwd = (currentPassword: string, newPassword: string) => call("POST", "/api/v1/passwd", { token: mine, body: { currentPassword, newPassword } });
    assert.equal((await passwd("not the password", "a brand new password")).json.error.code, "wrong-password");
    assert.equal((await passwd(PASSWORD, PASSWORD)).json.error.code, "password-reused");
    const changed = await passwd(PASSWORD, "second password here");
    assert.deepEqual(changed.json, { revokedSessions: 2 }, "the other session and the one from site()");
    assert.equal((await call("GET", "/api/v1/whoami", { token: other })).json.error.code, "unauthenticated");
    assert.equal((await call("GET", "/api/v1/whoami", { token: mine })).json.user, "bob");
    assert.equal((await passwd("second password here", PASSWORD)).json.error.code, "password-reused", "the history remembers it");
    assert.equal((await passwd("second password here", "third password here")).status, 200);
    assert.equal((await login(account, "bob", PASSWORD)).json.error.code, "login-failed");
    assert.equal((await login(account, "bob", "third password here")).status, 200);
  });

  it("removing a user ends its sessions and revokes the API tokens it made; nobody removes themselves", async () => {
    const { account, admin } = await site();
    await call("POST", "/api/v1/users", { token: admin, body: { name: "carol", role: "admin", password: PASSWORD } });
    const carol = await token(account, "carol");
    const made = await call("POST", "/api/v1/tokens", { token: carol, body: { name: "carols-ci" } });
    assert.equal(made.status, 201);
    assert.equal((await call("DELETE", "/api/v1/users/carol", { token: carol })).json.error.code, "conflict");
    assert.equal((await call("DELETE", "/api/v1/users/carol", { token: admin })).status, 200);
    assert.equal((await call("GET", "/api/v1/whoami", { token: carol })).json.error.code, "unauthenticated");
    assert.equal((await call("GET", "/api/v1/whoami", { token: made.json.token })).json.error.code, "unauthenticated");
    assert.equal((await call("DELETE", "/api/v1/users/carol", { token: admin })).json.error.code, "not-found");
    assert.match((await audit(account, "user.remove")).at(-2)?.reason ?? "", /carols-ci/);
  });

  it("another account's users read as missing", async () => {
    const one = await site();
    const two = await site();
    assert.equal((await call("DELETE", "/api/v1/users/bob", { token: two.admin })).status, 200);
    assert.equal((await call("GET", "/api/v1/whoami", { token: one.member })).json.user, "bob", "only the other account's bob went");
    assert.equal((await call("POST", "/api/v1/users/nobody/unlock", { token: one.admin })).json.error.code, "not-found");
  });

  it("an admin unlocks a locked user, who can log in at once", async () => {
    const { account, admin } = await site();
    // Failures count from after bob's last successful login (in site()), one tick later.
    t.advance(1);
    for (let i = 0; i < 5; i++) await login(account, "bob", "wrong password!");
    assert.equal((await login(account, "bob")).json.error.code, "login-failed");
    const listed = (await call("GET", "/api/v1/users", { token: admin })).json.find((u: { name: string }) => u.name === "bob");
    assert.equal(listed.locked, true);
    const unlocked = await call("POST", "/api/v1/users/bob/unlock", { token: admin });
    assert.equal(unlocked.json.locked, false);
    assert.equal((await login(account, "bob")).status, 200);
    assert.match((await audit(account, "user.unlock"))[0]?.reason ?? "", /^was locked until /);
  });

  it("the policy shows its defaults, changes field by field, and rejects unknown keys and values out of range", async () => {
    const { account, admin } = await site();
    assert.deepEqual((await call("GET", "/api/v1/account/policy", { token: admin })).json, {
      minLength: 12,
      maxAgeDays: null,
      history: 0,
      lockoutAfter: 5,
      requireOtp: false,
      requireReason: false,
    });
    const changed = await call("POST", "/api/v1/account/policy", { token: admin, body: { minLength: 16, maxAgeDays: 90 } });
    assert.deepEqual(changed.json, { minLength: 16, maxAgeDays: 90, history: 0, lockoutAfter: 5, requireOtp: false, requireReason: false });
    assert.equal((await call("POST", "/api/v1/account/policy", { token: admin, body: { maxAgeDays: null } })).json.maxAgeDays, null);
    for (const body of [{ minLength: 4 }, { lockoutAfter: 0 }, { history: 25 }, { minLen: 12 }]) {
      assert.equal((await call("POST", "/api/v1/account/policy", { token: admin, body })).json.error.code, "invalid-input", JSON.stringify(body));
    }
    assert.equal(
      (await call("POST", "/api/v1/users", { token: admin, body: { name: "dave", password: "fifteen chars!!" } })).json.error.code,
      "password-too-short",
    );
    assert.deepEqual(
      (await audit(account, "account.policy")).map((r) => r.reason),
      ["minLength=16, maxAgeDays=90", "maxAgeDays=none"],
    );
  });

  it("one-time codes: enable shows the secret once, login needs a code, disable needs a current one", async () => {
    const { account } = await site();
    const bob = await token(account, "bob");
    const enabled = await call("POST", "/api/v1/otp/enable", { token: bob });
    assert.match(enabled.json.uri, /^otpauth:\/\/totp\/Fernlink:bob%40acme-\d+\?/);
    const secret = enabled.json.secret as string;
    assert.equal((await call("POST", "/api/v1/otp/enable", { token: bob })).json.error.code, "conflict");
    assert.equal((await login(account, "bob")).json.error.code, "otp-required");
    const step = totpStep(t.ctx.now());
    assert.equal((await login(account, "bob", PASSWORD, totpCode(secret, step))).status, 200);
    const disable = (code: string) => call("POST", "/api/v1/otp/disable", { token: bob, body: { code } });
    assert.equal((await disable(totpCode(secret, step))).json.error.code, "otp-invalid", "a used code");
    assert.equal((await disable("000000" === totpCode(secret, step + 1) ? "111111" : "000000")).json.error.code, "otp-invalid");
    assert.equal((await disable(totpCode(secret, step + 1))).status, 200);
    assert.equal((await login(account, "bob")).status, 200);
  });

  it("an expired password restricts the session to passwd, which lifts the restriction", async () => {
    const { account, admin } = await site();
    await call("POST", "/api/v1/account/policy", { token: admin, body: { maxAgeDays: 30 } });
    t.advance(31 * DAY);
    try {
      const reply = await login(account, "bob");
      assert.equal(reply.json.restriction, "password-expired");
      const bob = reply.json.token as string;
      const refused = await call("GET", "/api/v1/devices", { token: bob });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.error.code, "password-expired");
      assert.match(refused.json.error.message, /fernlink passwd/);
      assert.equal((await call("POST", "/api/v1/otp/enable", { token: bob })).json.error.code, "password-expired");
      assert.equal((await call("POST", "/api/v1/passwd", { token: bob, body: { currentPassword: PASSWORD, newPassword: "a fresh password" } })).status, 200);
      assert.equal((await call("GET", "/api/v1/devices", { token: bob })).status, 200);
    } finally {
      await call("POST", "/api/v1/account/policy", { token: await token(account, "alice"), body: { maxAgeDays: null } });
    }
  });

  it("a required one-time code restricts an unenrolled user's session to otp enable", async () => {
    const { account, admin } = await site();
    await call("POST", "/api/v1/account/policy", { token: admin, body: { requireOtp: true } });
    const reply = await login(account, "bob");
    assert.equal(reply.json.restriction, "otp-enrollment-required");
    const bob = reply.json.token as string;
    assert.equal((await call("GET", "/api/v1/devices", { token: bob })).json.error.code, "otp-enrollment-required");
    const { secret } = (await call("POST", "/api/v1/otp/enable", { token: bob })).json;
    assert.equal((await call("GET", "/api/v1/devices", { token: bob })).status, 200);
    const code = totpCode(secret, totpStep(t.ctx.now()));
    assert.equal((await call("POST", "/api/v1/otp/disable", { token: bob, body: { code } })).json.error.code, "forbidden");
  });

  it("API tokens: shown once, listed without the secret, usable as a bearer token until revoked", async () => {
    const { account, admin } = await site();
    const made = await call("POST", "/api/v1/tokens", { token: admin, body: { name: "ci", role: "member", expiresDays: 30 } });
    assert.equal(made.status, 201);
    const list = await call("GET", "/api/v1/tokens", { token: admin });
    assert.deepEqual(
      list.json.map((x: { name: string; createdBy: string }) => [x.name, x.createdBy]),
      [["ci", "alice"]],
    );
    assert.ok(!JSON.stringify(list.json).includes(made.json.token));
    const who = await call("GET", "/api/v1/whoami", { token: made.json.token });
    assert.deepEqual([who.json.user, who.json.role], ["alice", "member"]);
    assert.equal((await call("GET", "/api/v1/users", { token: made.json.token })).json.error.code, "forbidden", "a member token is no admin");
    assert.equal(
      (await call("POST", "/api/v1/passwd", { token: made.json.token, body: { currentPassword: PASSWORD, newPassword: "whatever password" } })).json.error.code,
      "forbidden",
    );
    assert.equal((await call("POST", "/api/v1/logout", { token: made.json.token })).json.error.code, "invalid-input");
    assert.equal((await call("DELETE", "/api/v1/tokens/ci", { token: admin })).status, 200);
    assert.equal((await call("GET", "/api/v1/whoami", { token: made.json.token })).json.error.code, "unauthenticated");
    assert.equal((await call("DELETE", "/api/v1/tokens/ci", { token: admin })).json.error.code, "not-found");
    assert.deepEqual(
      (await audit(account, "token.add")).map((r) => r.result),
      ["ok"],
    );
  });
});
