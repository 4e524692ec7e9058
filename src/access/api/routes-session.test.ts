import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SESSION_COOKIE } from "../../protocol/api-session.js";
import { openTestAccess, type TestAccess } from "../access-test-kit.js";
import { initAccount } from "../sessions.js";
import { setTotp } from "../store/users.js";
import { totpCode, totpStep } from "../totp.js";
import { createApiApp } from "./app.js";
import { CSRF_HEADER } from "./browser-session.js";

const PASSWORD = "correct horse battery staple";
const HOST = "portal.localhost:8443";

describe("the portal's browser session: cookie, CSRF and origin checks, in process", () => {
  let t: TestAccess;
  let app: ReturnType<typeof createApiApp>;
  let n = 0;

  const call = async (
    method: string,
    path: string,
    options: { cookie?: string; csrf?: string; origin?: string; bearer?: string; body?: unknown; site?: string } = {},
  ) => {
    const headers: Record<string, string> = { "content-type": "application/json", host: HOST };
    if (options.site) headers["sec-fetch-site"] = options.site;
    if (options.cookie) headers["cookie"] = `${SESSION_COOKIE}=${options.cookie}`;
    if (options.csrf) headers[CSRF_HEADER] = options.csrf;
    if (options.origin) headers["origin"] = options.origin;
    if (options.bearer) headers["authorization"] = `Bearer ${options.bearer}`;
    const init = { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) };
    const res = await app.request(`https://${HOST}${path}`, init, { incoming: { socket: { remoteAddress: `198.51.100.${n}` } } } as never);
    // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON loosely and assert on its shape
    return { status: res.status, headers: res.headers, json: (await res.json()) as any };
  };
  /** A fresh account with admin alice; signs her in through the portal route. */
  const signIn = async (options: { otp?: string; origin?: string } = {}) => {
    const account = `portal-${++n}`;
    await initAccount(t.ctx, { account, user: "alice", password: PASSWORD });
    return {
      account,
      res: await call("POST", "/api/v1/session", {
        body: { account, user: "alice", password: PASSWORD, ...(options.otp ? { otp: options.otp } : {}) },
        ...(options.origin ? { origin: options.origin } : {}),
      }),
    };
  };
  const cookieOf = (headers: Headers): { value: string; attributes: string } => {
    const line = headers.get("set-cookie") ?? "";
    const match = new RegExp(`^${SESSION_COOKIE}=([^;]*);(.*)$`).exec(line);
    assert.ok(match, line);
    return { value: match[1]!, attributes: match[2]! };
  };

  before(async () => {
    t = await openTestAccess("SQLite");
    app = createApiApp(t.ctx);
  });
  after(() => t.close());

  it("signing in sets a __Host- cookie that is Secure, HttpOnly and SameSite=Strict, and answers with the CSRF token", async () => {
    const { account, res } = await signIn({ origin: `https://${HOST}` });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const cookie = cookieOf(res.headers);
    assert.match(cookie.attributes, /Path=\//);
    assert.match(cookie.attributes, /Secure/);
    assert.match(cookie.attributes, /HttpOnly/);
    assert.match(cookie.attributes, /SameSite=Strict/);
    assert.doesNotMatch(cookie.attributes, /Domain=/i);
    assert.deepEqual({ account: res.json.account, user: res.json.user, role: res.json.role }, { account, user: "alice", role: "admin" });
    assert.equal(JSON.stringify(res.json).includes(cookie.value), false, "the token is not in the body");
    const again = await call("GET", "/api/v1/session", { cookie: cookie.value });
    assert.equal(again.json.csrf, res.json.csrf);
    assert.equal((await call("GET", "/api/v1/devices", { cookie: cookie.value })).status, 200);
  });

  it("a change sent with the cookie needs the CSRF header; a wrong one or none is refused", async () => {
    const { res } = await signIn();
    const cookie = cookieOf(res.headers).value;
    const device = { name: "press-7", lan: [] };
    assert.equal((await call("POST", "/api/v1/devices", { cookie, body: device })).json.error.code, "forbidden");
    assert.equal((await call("POST", "/api/v1/devices", { cookie, csrf: "x".repeat(43), body: device })).json.error.code, "forbidden");
    assert.equal((await call("POST", "/api/v1/devices", { cookie, csrf: res.json.csrf, body: device })).status, 201);
  });

  it("requests from another origin are refused, signing in included", async () => {
    const evil = "https://w-abc.portal.localhost:8443";
    assert.equal((await signIn({ origin: evil })).res.json.error.code, "forbidden");
    const { res } = await signIn();
    const cookie = cookieOf(res.headers).value;
    assert.equal((await call("GET", "/api/v1/devices", { cookie, origin: evil })).status, 403);
    assert.equal((await call("POST", "/api/v1/devices", { cookie, csrf: res.json.csrf, origin: evil, body: { name: "x", lan: [] } })).status, 403);
  });

  it("a cookie request that the browser says came from another origin of the site is refused, reads included", async () => {
    const { res } = await signIn();
    const cookie = cookieOf(res.headers).value;
    assert.equal((await call("GET", "/api/v1/devices", { cookie, site: "same-origin" })).status, 200);
    assert.equal((await call("GET", "/api/v1/devices", { cookie, site: "same-site" })).json.error?.code, "forbidden");
    assert.equal((await call("GET", "/api/v1/events", { cookie, site: "cross-site" })).json.error?.code, "forbidden");
  });

  it("a bearer token needs no CSRF header, and a bearer request ignores any cookie", async () => {
    const { account, res } = await signIn();
    const cookie = cookieOf(res.headers).value;
    const login = await call("POST", "/api/v1/login", { body: { account, user: "alice", password: PASSWORD } });
    assert.equal((await call("POST", "/api/v1/devices", { bearer: login.json.token, body: { name: "press-8", lan: [] } })).status, 201);
    assert.equal((await call("GET", "/api/v1/devices", { bearer: "not-a-token", cookie })).status, 401);
  });

  it("signing out ends the session, clears the cookie and closes the session's open streams", async () => {
    const { res } = await signIn();
    const cookie = cookieOf(res.headers).value;
    const grant = {
      accountId: (await t.ctx.db.selectFrom("accounts").select("id").where("name", "=", res.json.account).executeTakeFirstOrThrow()).id,
      userId: "u",
      userName: "alice",
      sessionId: "s",
      deviceId: "d",
      deviceName: "press-7",
      lastSeen: null,
      allowedTargets: [],
    };
    const stream = (streamId: string, token: string) => ({
      streamId,
      request: { token, device: "press-7", target: { host: "10.0.0.1", port: 80 }, source: "test" },
      grant,
      startedAt: t.ctx.now(),
      bytesUp: 0,
      bytesDown: 0,
    });
    t.live.streams.push(stream("mine", cookie), stream("another-session", "other-token"));
    assert.equal((await call("DELETE", "/api/v1/session", { cookie })).status, 403, "needs the CSRF header too");
    const out = await call("DELETE", "/api/v1/session", { cookie, csrf: res.json.csrf });
    assert.equal(out.status, 200);
    assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
    assert.deepEqual(
      t.live.streams.map((s) => s.streamId),
      ["another-session"],
    );
    t.live.streams.length = 0;
    assert.equal((await call("GET", "/api/v1/session", { cookie })).json.error.code, "unauthenticated");
  });

  it("the session state answers 200 in every case: signed out without a cookie, the session with one, signed out (cookie cleared) once it ended", async () => {
    const none = await call("GET", "/api/v1/session/state");
    assert.deepEqual([none.status, none.json], [200, { signedIn: false }]);
    const { res } = await signIn();
    const cookie = cookieOf(res.headers).value;
    const live = await call("GET", "/api/v1/session/state", { cookie });
    assert.deepEqual([live.status, live.json.signedIn, live.json.session?.csrf], [200, true, res.json.csrf]);
    assert.equal((await call("DELETE", "/api/v1/session", { cookie, csrf: res.json.csrf })).status, 200);
    const ended = await call("GET", "/api/v1/session/state", { cookie });
    assert.deepEqual([ended.status, ended.json], [200, { signedIn: false }]);
    assert.match(ended.headers.get("set-cookie") ?? "", /Max-Age=0/);
    assert.equal((await call("GET", "/api/v1/session/state", { cookie, site: "cross-site" })).json.error?.code, "forbidden");
  });

  it("a user with one-time codes is asked for one after the right password, then signs in with it", async () => {
    const account = `portal-${++n}`;
    await initAccount(t.ctx, { account, user: "alice", password: PASSWORD });
    const row = await t.ctx.db.selectFrom("accounts").select("id").where("name", "=", account).executeTakeFirstOrThrow();
    const user = await t.ctx.db.selectFrom("users").select("id").where("account_id", "=", row.id).where("name", "=", "alice").executeTakeFirstOrThrow();
    const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    await setTotp(t.ctx.db, user.id, secret);
    const first = await call("POST", "/api/v1/session", { body: { account, user: "alice", password: PASSWORD } });
    assert.equal(first.json.error.code, "otp-required");
    assert.equal(first.headers.get("set-cookie"), null);
    const code = totpCode(secret, totpStep(t.ctx.now()));
    const second = await call("POST", "/api/v1/session", { body: { account, user: "alice", password: PASSWORD, otp: code } });
    assert.equal(second.status, 200, JSON.stringify(second.json));
  });
});
