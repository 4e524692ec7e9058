import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ROUTE_DOCS } from "../../protocol/api-catalogue.js";
import { openApiDocument, type RouteDoc } from "../../protocol/openapi.js";
import { FIXTURE_PASSWORD } from "../access-rules-fixture.js";
import { TEST_BACKENDS } from "../access-test-kit.js";
import { addOperatorToken } from "../operator-tokens.js";
import { totpCode, totpStep } from "../totp.js";
import { MATRIX_RECORDING, MATRIX_RULE_ID, MATRIX_SESSION, type MatrixFixture, openMatrixFixture } from "./role-matrix-fixture.js";

/** Who calls a session route in a sample: the main caller of the kind, a spare user, or a fresh session of the main caller. */
type Caller = { member?: string; admin?: string; fresh?: true };

/** A valid request for one session route, and for admin routes the audit action a member's refusal is recorded as. */
interface Sample {
  params?: Record<string, string>;
  body?: (f: MatrixFixture, user: string) => unknown;
  query?: Record<string, string>;
  /** Admin routes: the action of the member's audited refusal. */
  action?: string;
  as?: Caller;
  /** The body names objects of the caller's account, so another account's admin must read them as missing. */
  namesInBody?: true;
}

const NEW_PASSWORD = "a different long passphrase 42";
const otp = (f: MatrixFixture, user: string) => ({ code: totpCode(f.otpSecrets[user as "mona" | "adele"], totpStep(f.base.access.ctx.now())) });

/** One valid sample request per session route, keyed `METHOD path`; a route missing here fails the matrix. */
const SAMPLES: Record<string, Sample> = {
  "POST /api/v1/logout": { as: { fresh: true } },
  "GET /api/v1/session": {},
  "DELETE /api/v1/session": { as: { fresh: true } },
  "GET /api/v1/whoami": {},
  "GET /api/v1/account/admins": {},
  "GET /api/v1/devices": {},
  "POST /api/v1/devices": { body: () => ({ name: "press-new", lan: ["192.168.5.0/24"] }), action: "device.add" },
  "GET /api/v1/devices/:name": { params: { name: "press-7" } },
  "GET /api/v1/devices/:name/access": { params: { name: "press-7" } },
  "POST /api/v1/devices/:name/wake": { params: { name: "press-7" } },
  "DELETE /api/v1/devices/:name": { params: { name: "old-press" }, action: "device.remove" },
  "POST /api/v1/devices/:name/activation-key": { params: { name: "press-8" }, action: "device.activation-key" },
  "GET /api/v1/devices/:name/web": { params: { name: "press-7" } },
  "POST /api/v1/devices/:name/web": { params: { name: "press-7" }, body: () => ({ name: "new-hmi", url: "http://192.168.1.10/" }), action: "web-target.add" },
  "DELETE /api/v1/devices/:name/web/:target": { params: { name: "press-7", target: "old-hmi" }, action: "web-target.remove" },
  "GET /api/v1/audit": { query: { limit: "5" }, action: "audit.list" },
  "GET /api/v1/audit/verify": { action: "audit.verify" },
  "GET /api/v1/reports/connections": { query: { limit: "5" }, action: "report.connections" },
  "GET /api/v1/users": { action: "user.list" },
  "POST /api/v1/users": { body: () => ({ name: "newbie", password: FIXTURE_PASSWORD }), action: "user.add" },
  "DELETE /api/v1/users/:name": { params: { name: "leaver" }, action: "user.remove" },
  "POST /api/v1/users/:name/unlock": { params: { name: "carol" }, action: "user.unlock" },
  "POST /api/v1/users/:name/lock": { params: { name: "lockee" }, action: "user.lock" },
  "POST /api/v1/users/:name/reset-password": {
    params: { name: "forgetter" },
    body: () => ({ password: "a one-time passphrase 42" }),
    action: "user.reset-password",
  },
  "POST /api/v1/users/:name/reset-otp": { params: { name: "forgetter" }, action: "user.reset-otp" },
  "POST /api/v1/users/:name/role": { params: { name: "promotee" }, body: () => ({ role: "admin" }), action: "user.role" },
  "GET /api/v1/sessions": {},
  // bob ends his own session, then alice ends it again (already ended: still a success).
  "DELETE /api/v1/sessions/:id": { params: { id: MATRIX_SESSION } },
  "POST /api/v1/passwd": { body: () => ({ currentPassword: FIXTURE_PASSWORD, newPassword: NEW_PASSWORD }), as: { member: "paula", admin: "adam" } },
  "POST /api/v1/otp/enable": { as: { member: "otto", admin: "ada" } },
  "POST /api/v1/otp/disable": { body: otp, as: { member: "mona", admin: "adele" } },
  "GET /api/v1/account/policy": {},
  "POST /api/v1/account/policy": { body: () => ({ minLength: 12 }), action: "account.policy" },
  "GET /api/v1/tokens": { action: "token.list" },
  "POST /api/v1/tokens": { body: () => ({ name: "new-token", expiresDays: 30 }), action: "token.add" },
  "DELETE /api/v1/tokens/:name": { params: { name: "ci-token" }, action: "token.revoke" },
  "GET /api/v1/groups": { action: "group.list" },
  "POST /api/v1/groups": { body: () => ({ name: "new-group" }), action: "group.add" },
  "GET /api/v1/groups/:name": { params: { name: "service-team" }, action: "group.show" },
  "DELETE /api/v1/groups/:name": { params: { name: "doomed-group" }, action: "group.remove" },
  "POST /api/v1/groups/:name/members": { params: { name: "service-team" }, body: () => ({ add: ["carol"] }), action: "group.members" },
  "GET /api/v1/pools": { action: "pool.list" },
  "POST /api/v1/pools": { body: () => ({ name: "new-pool" }), action: "pool.add" },
  "GET /api/v1/pools/:name": { params: { name: "line-3" }, action: "pool.show" },
  "DELETE /api/v1/pools/:name": { params: { name: "doomed-pool" }, action: "pool.remove" },
  "POST /api/v1/pools/:name/devices": { params: { name: "line-3" }, body: () => ({ add: ["press-8"] }), action: "pool.devices" },
  "GET /api/v1/access-rules": { action: "access.list" },
  "POST /api/v1/access-rules": {
    body: () => ({ group: "service-team", pool: "line-3", targets: ["192.168.1.10:502"] }),
    action: "access.grant",
    namesInBody: true,
  },
  "DELETE /api/v1/access-rules/:group/:pool": { params: { group: "revoke-team", pool: "line-3" }, action: "access.revoke" },
  "GET /api/v1/live/tunnels": { action: "live.tunnels" },
  "GET /api/v1/live/streams": { action: "live.streams" },
  "DELETE /api/v1/live/streams/:id": { params: { id: "matrix-stream" }, action: "stream.close" },
  "GET /api/v1/status": { action: "status" },
  "GET /api/v1/published-ports": { action: "publish.list" },
  "POST /api/v1/published-ports": { body: () => ({ device: "press-7", port: 15003, target: "192.168.1.10:502" }), action: "publish.add" },
  "POST /api/v1/published-ports/:name/pause": { params: { name: "matrix-pub" }, action: "publish.pause" },
  "POST /api/v1/published-ports/:name/resume": { params: { name: "matrix-pub" }, action: "publish.resume" },
  "DELETE /api/v1/published-ports/:name": { params: { name: "doomed-pub" }, action: "publish.remove" },
  "GET /api/v1/published-ports/:name/log": { params: { name: "matrix-pub" }, action: "publish.log" },
  "POST /api/v1/devices/:name/agent-publish": { params: { name: "press-7" }, body: () => ({ allowed: true }), action: "publish.agent-switch" },
  "POST /api/v1/devices/:name/record": { params: { name: "press-7" }, body: () => ({ target: "192.168.1.10:502", on: true }), action: "device.record" },
  "GET /api/v1/recordings": { action: "recording.list" },
  "GET /api/v1/recordings/:id": { params: { id: MATRIX_RECORDING }, action: "recording.get" },
  "GET /api/v1/notifications/channels": { action: "notify.channel-list" },
  "POST /api/v1/notifications/channels": { body: () => ({ kind: "webhook", name: "matrix-hook-2", url: "http://127.0.0.1:9/" }), action: "notify.channel-add" },
  "DELETE /api/v1/notifications/channels/:name": { params: { name: "doomed-hook" }, action: "notify.channel-remove" },
  "POST /api/v1/notifications/channels/:name/test": { params: { name: "matrix-hook" }, action: "notify.channel-test" },
  "GET /api/v1/notifications/rules": { action: "notify.rule-list" },
  "POST /api/v1/notifications/rules": {
    body: () => ({ event: "device.offline", channel: "matrix-hook", device: "press-7", delaySeconds: 60 }),
    action: "notify.rule-add",
    namesInBody: true,
  },
  "DELETE /api/v1/notifications/rules/:id": { params: { id: MATRIX_RULE_ID }, action: "notify.rule-remove" },
  "GET /api/v1/notifications": { action: "notify.list" },
  "GET /api/v1/events": {},
};

type Row = [name: string, run: (f: MatrixFixture) => Promise<void>];

/** Routes without a session (none, or a device certificate), each with its own expectations. */
const OWN_ROWS: Record<string, Row[]> = {
  "GET /api/v1/operator/accounts": [
    [
      "an admin's session token is refused at GET /api/v1/operator/accounts",
      async (f) => {
        const res = await f.call("GET", "/api/v1/operator/accounts", { token: f.tokens.alice });
        assert.deepEqual([res.status, res.json.error?.code], [401, "unauthenticated"]);
      },
    ],
    [
      "an operator token lists every account at GET /api/v1/operator/accounts",
      async (f) => {
        const token = await operatorToken(f);
        const res = await f.call("GET", "/api/v1/operator/accounts", { token });
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.ok(
          (res.json as unknown as { name: string }[]).some((a) => a.name === "acme"),
          JSON.stringify(res.json),
        );
      },
    ],
  ],
  "POST /api/v1/operator/accounts": [
    [
      "an admin's session token is refused at POST /api/v1/operator/accounts",
      async (f) => {
        const res = await f.call("POST", "/api/v1/operator/accounts", { token: f.tokens.alice, body: { name: "x", admin: "y", password: FIXTURE_PASSWORD } });
        assert.deepEqual([res.status, res.json.error?.code], [401, "unauthenticated"]);
      },
    ],
  ],
  "POST /api/v1/operator/accounts/:name/state": [
    [
      "an admin's session token is refused at POST /api/v1/operator/accounts/:name/state",
      async (f) => {
        const res = await f.call("POST", "/api/v1/operator/accounts/:name/state", {
          token: f.tokens.alice,
          params: { name: "acme" },
          body: { state: "disabled" },
        });
        assert.deepEqual([res.status, res.json.error?.code], [401, "unauthenticated"]);
      },
    ],
  ],
  "GET /api/v1/health": [
    ["anyone may ask GET /api/v1/health without a session", async (f) => assert.equal((await f.call("GET", "/api/v1/health")).status, 200)],
  ],
  "GET /api/v1/openapi.json": [
    [
      "anyone may read GET /api/v1/openapi.json without a session",
      async (f) => assert.equal((await f.call("GET", "/api/v1/openapi.json")).json.openapi, "3.1.0"),
    ],
  ],
  "POST /api/v1/login": [
    ["anyone may log in at POST /api/v1/login with a valid account, user and password", async (f) => assert.match(await f.login("acme", "carol"), /\S{20,}/)],
    [
      "a wrong password at POST /api/v1/login is refused as login-failed",
      async (f) => {
        const res = await f.call("POST", "/api/v1/login", { body: { account: "acme", user: "carol", password: "not the password at all" } });
        assert.deepEqual([res.status, res.json.error?.code], [401, "login-failed"]);
      },
    ],
  ],
  "GET /api/v1/session/state": [
    [
      "anyone may ask GET /api/v1/session/state and an anonymous caller learns it is signed out",
      async (f) => assert.deepEqual((await f.call("GET", "/api/v1/session/state")).json, { signedIn: false }),
    ],
  ],
  "POST /api/v1/session": [
    [
      "anyone may sign in to the portal at POST /api/v1/session and gets the session in a cookie, not in the body",
      async (f) => {
        const res = await f.call("POST", "/api/v1/session", { body: { account: "acme", user: "carol", password: FIXTURE_PASSWORD } });
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.deepEqual([res.json.user, res.json.role, "token" in res.json], ["carol", "member", false]);
      },
    ],
    [
      "a wrong password at POST /api/v1/session is refused as login-failed",
      async (f) => {
        const res = await f.call("POST", "/api/v1/session", { body: { account: "acme", user: "carol", password: "not the password at all" } });
        assert.deepEqual([res.status, res.json.error?.code], [401, "login-failed"]);
      },
    ],
  ],
  "POST /api/v1/agent/register": [
    [
      "an admin's session token does not stand in for an activation key at POST /api/v1/agent/register",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/register", { token: f.tokens.alice, body: { ...f.registration, activationKey: "AAAAA-BBBBB" } });
        assert.equal(res.json.error?.code, "activation-key-invalid", JSON.stringify(res.json));
      },
    ],
    [
      "an agent with an unused activation key registers at POST /api/v1/agent/register without a session",
      async (f) => assert.equal((await f.call("POST", "/api/v1/agent/register", { body: f.registration })).status, 200),
    ],
  ],
  "GET /api/v1/agent/relay": [
    [
      "a registered device learns its relay at GET /api/v1/agent/relay with its certificate",
      async (f) => {
        const res = await f.call("GET", "/api/v1/agent/relay", { peerCertificate: f.deviceCertificate });
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.equal(res.json.relay.id, "relay-1");
      },
    ],
    [
      "an admin's session token without a device certificate is refused at GET /api/v1/agent/relay",
      async (f) => {
        const res = await f.call("GET", "/api/v1/agent/relay", { token: f.tokens.alice });
        assert.deepEqual([res.status, res.json.error?.code], [403, "certificate-rejected"]);
      },
    ],
  ],
  "POST /api/v1/agent/check-in": [
    [
      "a registered device checks in at POST /api/v1/agent/check-in with its certificate and learns nobody wants it",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/check-in", { peerCertificate: f.deviceCertificate, body: { every: 300 } });
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.deepEqual(res.json, { wanted: false });
      },
    ],
    [
      "an admin's session token without a device certificate is refused at POST /api/v1/agent/check-in",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/check-in", { token: f.tokens.alice, body: { every: 300 } });
        assert.deepEqual([res.status, res.json.error?.code], [403, "certificate-rejected"]);
      },
    ],
  ],
  "POST /api/v1/relays/register": [
    [
      "an admin's session token does not stand in for a relay key at POST /api/v1/relays/register",
      async (f) => {
        const res = await f.call("POST", "/api/v1/relays/register", {
          token: f.tokens.alice,
          body: { key: "AAAAA-BBBBB", csr: f.registration.csr, url: "https://127.0.0.1:9443" },
        });
        assert.equal(res.json.error?.code, "activation-key-invalid", JSON.stringify(res.json));
      },
    ],
  ],
  "POST /api/v1/agent/publish": [
    [
      "a device no admin allowed is refused at POST /api/v1/agent/publish",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/publish", { peerCertificate: f.deviceCertificate, body: { jobs: [] } });
        assert.deepEqual([res.status, res.json.error?.code], [403, "forbidden"], JSON.stringify(res.json));
      },
    ],
    [
      "an admin's session token without a device certificate is refused at POST /api/v1/agent/publish",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/publish", { token: f.tokens.alice, body: { jobs: [] } });
        assert.deepEqual([res.status, res.json.error?.code], [403, "certificate-rejected"]);
      },
    ],
  ],
  "POST /api/v1/agent/switch": [
    [
      "a registered device reports its key switch at POST /api/v1/agent/switch with its certificate",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/switch", { peerCertificate: f.deviceCertificate, body: { state: "remote" } });
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.equal(res.json.state, "remote");
      },
    ],
    [
      "an admin's session token without a device certificate is refused at POST /api/v1/agent/switch",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/switch", { token: f.tokens.alice, body: { state: "off" } });
        assert.deepEqual([res.status, res.json.error?.code], [403, "certificate-rejected"]);
      },
    ],
  ],
  "POST /api/v1/agent/alarm": [
    [
      "a registered device raises an alarm at POST /api/v1/agent/alarm with its certificate",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/alarm", { peerCertificate: f.deviceCertificate, body: { severity: "critical", text: "spindle hot" } });
        assert.equal(res.status, 200, JSON.stringify(res.json));
        assert.equal(res.json.queued, 0);
      },
    ],
    [
      "an admin's session token without a device certificate is refused at POST /api/v1/agent/alarm",
      async (f) => {
        const res = await f.call("POST", "/api/v1/agent/alarm", { token: f.tokens.alice, body: { severity: "info", text: "x" } });
        assert.deepEqual([res.status, res.json.error?.code], [403, "certificate-rejected"]);
      },
    ],
  ],
  "POST /api/v1/relays/agent": [
    [
      "a device certificate is no relay certificate at POST /api/v1/relays/agent",
      async (f) => {
        const res = await f.call("POST", "/api/v1/relays/agent", { peerCertificate: f.deviceCertificate, body: { serial: "01" } });
        assert.deepEqual([res.status, res.json.error?.code], [403, "certificate-revoked"]);
      },
    ],
    [
      "an admin's session token without a relay certificate is refused at POST /api/v1/relays/agent",
      async (f) => {
        const res = await f.call("POST", "/api/v1/relays/agent", { token: f.tokens.alice, body: { serial: "01" } });
        assert.deepEqual([res.status, res.json.error?.code], [403, "certificate-rejected"]);
      },
    ],
  ],
};

let operatorTokens = 0;

/** A fresh operator token, made as on the server's host. */
function operatorToken(f: MatrixFixture): Promise<string> {
  const { ctx } = f.base.access;
  return addOperatorToken(ctx.db, `matrix-${++operatorTokens}`, { auditKey: ctx.auditKey, operator: "root (operator)", now: ctx.now() });
}

const key = (doc: RouteDoc) => `${doc.method.toUpperCase()} ${doc.path}`;
const sessionRoutes = ROUTE_DOCS.filter((d) => d.auth === "session");

test("every route the server serves has exactly one row in the role matrix", () => {
  const rows = [...Object.keys(SAMPLES), ...Object.keys(OWN_ROWS)].sort();
  assert.deepEqual(rows, ROUTE_DOCS.map(key).sort());
  for (const doc of ROUTE_DOCS) assert.equal(doc.auth === "session", key(doc) in SAMPLES, `${key(doc)}: session routes have a sample, others their own row`);
  for (const doc of sessionRoutes)
    assert.equal(doc.role === "admin", SAMPLES[key(doc)]?.action !== undefined, `${key(doc)}: admin routes name their audit action`);
});

test("the OpenAPI document names the role each session route needs", () => {
  const paths = openApiDocument(ROUTE_DOCS, "test")["paths"] as Record<string, Record<string, Record<string, unknown>>>;
  for (const doc of ROUTE_DOCS) {
    const role = paths[doc.path.replace(/:([A-Za-z]+)/g, "{$1}")]?.[doc.method]?.["x-fernlink-role"];
    assert.equal(role, doc.auth === "session" ? (doc.role ?? "member") : undefined, key(doc));
  }
});

for (const backend of TEST_BACKENDS) {
  describe(`the role × action matrix on ${backend}`, () => {
    let f: MatrixFixture;
    before(async () => {
      f = await openMatrixFixture(backend);
    });
    after(() => f?.close());

    const send = (doc: RouteDoc, s: Sample, token: string | undefined, user: string, override?: { body?: unknown; query?: Record<string, string> }) =>
      f.call(doc.method.toUpperCase(), doc.path, {
        ...(token ? { token } : {}),
        ...(s.params ? { params: s.params } : {}),
        ...((override?.query ?? s.query) ? { query: override?.query ?? s.query! } : {}),
        ...(override && "body" in override ? { body: override.body } : s.body ? { body: s.body(f, user) } : {}),
      });
    const callerOf = async (s: Sample, kind: "member" | "admin"): Promise<[string, string]> => {
      const user = s.as?.[kind] ?? (kind === "admin" ? "alice" : "bob");
      const token = s.as?.fresh ? await f.login("acme", user) : f.tokens[user as keyof MatrixFixture["tokens"]];
      return [user, token];
    };
    const refusedOnce = async (doc: RouteDoc, s: Sample, override?: { body?: unknown; query?: Record<string, string> }) => {
      const [user, token] = await callerOf(s, "member");
      const before = (await f.denials(user)).length;
      const res = await send(doc, s, token, user, override);
      assert.deepEqual([res.status, res.json.error?.code], [403, "forbidden"], JSON.stringify(res.json));
      const added = (await f.denials(user)).slice(before);
      assert.deepEqual(
        added.map((r) => [r.actor, r.action, r.result]),
        [[user, s.action, "denied"]],
        "exactly one audited refusal naming the member",
      );
      assert.match(added[0]?.reason ?? "", /^forbidden/);
    };

    for (const doc of ROUTE_DOCS) {
      const route = key(doc);
      const own = OWN_ROWS[route];
      if (own) {
        for (const [name, run] of own) test(name, () => run(f));
        continue;
      }
      const s = SAMPLES[route] ?? {};
      const admin = doc.role === "admin";

      test(`an anonymous caller of ${route} is refused as unauthenticated`, async () => {
        const res = await send(doc, s, undefined, s.as?.member ?? "bob");
        assert.deepEqual([res.status, res.json.error?.code], [401, "unauthenticated"]);
      });
      if (admin) {
        test(`a member calling ${route} is refused and the refusal is audited`, () => refusedOnce(doc, s));
        if (doc.request) {
          test(`a member sending a malformed body to ${route} is refused before it is read, and audited`, () => refusedOnce(doc, s, { body: "{ not json" }));
        } else if (doc.query) {
          test(`a member sending a malformed query to ${route} is refused before it is read, and audited`, () =>
            refusedOnce(doc, s, { query: { limit: "many", bogus: "1" } }));
        }
      } else {
        test(`a member calling ${route} succeeds`, async () => {
          const [user, token] = await callerOf(s, "member");
          const res = await send(doc, s, token, user);
          assert.equal(res.status, doc.status ?? 200, JSON.stringify(res.json));
          doc.response?.parse(res.json);
        });
      }
      if (s.params || s.namesInBody) {
        test(`an admin of another account calling ${route} finds nothing`, async () => {
          const res = await send(doc, s, f.tokens.olga, "olga");
          assert.deepEqual([res.status, res.json.error?.code], [404, "not-found"], JSON.stringify(res.json));
        });
      }
      test(`an admin calling ${route} succeeds`, async () => {
        const [user, token] = await callerOf(s, "admin");
        const res = await send(doc, s, token, user);
        assert.equal(res.status, doc.status ?? 200, JSON.stringify(res.json));
        doc.response?.parse(res.json);
      });
    }
  });
}
