import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { certificateInfo, createCsrPem, generateKeyPairPem } from "../../shared/pki.js";
import { openTestAccess, type TestAccess } from "../access-test-kit.js";
import type { AccessContext } from "../context.js";
import { authenticateAgent } from "../registration.js";
import { initAccount } from "../sessions.js";
import { createApiApp } from "./app.js";

const PASSWORD = "correct horse battery staple";

describe("the REST API, in process", () => {
  let t: TestAccess;
  let ctx: AccessContext;
  let app: ReturnType<typeof createApiApp>;

  const call = async (method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.token) headers["authorization"] = `Bearer ${options.token}`;
    const res = await app.request(path, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
    // biome-ignore lint/suspicious/noExplicitAny: the tests read the API's JSON loosely and assert on its shape
    return { status: res.status, json: (await res.json()) as any };
  };
  const loginAs = async (account: string, user: string): Promise<string> => {
    const res = await call("POST", "/api/v1/login", { body: { account, user, password: PASSWORD } });
    assert.equal(res.status, 200);
    return res.json.token as string;
  };
  const csr = async () => createCsrPem((await generateKeyPairPem()).privateKeyPem, { commonName: "x" });

  before(async () => {
    t = await openTestAccess("SQLite", new Date("2026-11-27T10:00:00Z"));
    ctx = t.ctx;
    app = createApiApp(ctx);
    await initAccount(ctx, { account: "acme", user: "alice", password: PASSWORD });
    await initAccount(ctx, { account: "other", user: "bob", password: PASSWORD });
  });
  after(() => t.close());

  test("a wrong password and an unknown user fail with the same code and message", async () => {
    const wrong = await call("POST", "/api/v1/login", { body: { account: "acme", user: "alice", password: "not the password" } });
    const unknown = await call("POST", "/api/v1/login", { body: { account: "acme", user: "mallory", password: "not the password" } });
    const noAccount = await call("POST", "/api/v1/login", { body: { account: "nope", user: "alice", password: "x" } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.error.code, "login-failed");
    assert.deepEqual(unknown.json, wrong.json);
    assert.deepEqual(noAccount.json, wrong.json);
  });

  test("a request without a valid token is unauthenticated", async () => {
    assert.equal((await call("GET", "/api/v1/devices")).json.error.code, "unauthenticated");
    assert.equal((await call("GET", "/api/v1/devices", { token: "forged" })).json.error.code, "unauthenticated");
  });

  test("a body with unknown keys or a bad range is refused naming the field", async () => {
    const token = await loginAs("acme", "alice");
    const extra = await call("POST", "/api/v1/devices", { token, body: { name: "x", admin: true } });
    assert.equal(extra.status, 400);
    assert.equal(extra.json.error.code, "invalid-input");
    const badLan = await call("POST", "/api/v1/devices", { token, body: { name: "x", lan: ["10.0.0.0/33"] } });
    assert.equal(badLan.json.error.code, "invalid-input");
    assert.match(badLan.json.error.message, /10\.0\.0\.0\/33/);
  });

  test("an activation key registers a device once; used and unknown keys are refused", async () => {
    const token = await loginAs("acme", "alice");
    const added = await call("POST", "/api/v1/devices", { token, body: { name: "press-7", lan: ["192.168.1.0/24"] } });
    assert.equal(added.status, 201);
    const key = added.json.activationKey as string;
    const first = await call("POST", "/api/v1/agent/register", { body: { activationKey: key.toLowerCase(), csr: await csr() } });
    assert.equal(first.status, 200);
    assert.equal(certificateInfo(first.json.certificate).deviceId, first.json.deviceId);
    assert.deepEqual(first.json.lan, ["192.168.1.0/24"]);
    const again = await call("POST", "/api/v1/agent/register", { body: { activationKey: key, csr: await csr() } });
    assert.equal(again.json.error.code, "activation-key-used");
    const unknown = await call("POST", "/api/v1/agent/register", { body: { activationKey: "AAAAA-BBBBB", csr: await csr() } });
    assert.equal(unknown.json.error.code, "activation-key-invalid");
    const duplicate = await call("POST", "/api/v1/devices", { token, body: { name: "press-7" } });
    assert.equal(duplicate.json.error.code, "conflict");
  });

  test("a broken CSR leaves the activation key unused", async () => {
    const token = await loginAs("acme", "alice");
    const { json } = await call("POST", "/api/v1/devices", { token, body: { name: "press-8" } });
    const bad = await call("POST", "/api/v1/agent/register", {
      body: { activationKey: json.activationKey, csr: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----" },
    });
    assert.equal(bad.json.error.code, "invalid-input");
    const good = await call("POST", "/api/v1/agent/register", { body: { activationKey: json.activationKey, csr: await csr() } });
    assert.equal(good.status, 200);
  });

  test("a new key from device key cancels the earlier unused key, which is refused as replaced", async () => {
    const token = await loginAs("acme", "alice");
    const { json } = await call("POST", "/api/v1/devices", { token, body: { name: "press-20" } });
    t.advance(1000);
    const renewed = await call("POST", "/api/v1/devices/press-20/activation-key", { token });
    const old = await call("POST", "/api/v1/agent/register", { body: { activationKey: json.activationKey, csr: await csr() } });
    assert.equal(old.json.error.code, "activation-key-replaced");
    const fresh = await call("POST", "/api/v1/agent/register", { body: { activationKey: renewed.json.activationKey, csr: await csr() } });
    assert.equal(fresh.status, 200);
  });

  test("an activation key expires after 24 hours", async () => {
    const token = await loginAs("acme", "alice");
    const { json } = await call("POST", "/api/v1/devices", { token, body: { name: "press-9" } });
    const day = 24 * 3600 * 1000 + 1000;
    t.advance(day);
    try {
      const late = await call("POST", "/api/v1/agent/register", { body: { activationKey: json.activationKey, csr: await csr() } });
      assert.equal(late.json.error.code, "activation-key-expired");
    } finally {
      t.advance(-day);
    }
  });

  test("registering a device again revokes its old certificate and cuts its tunnel", async () => {
    const token = await loginAs("acme", "alice");
    const { json: added } = await call("POST", "/api/v1/devices", { token, body: { name: "press-10" } });
    const first = await call("POST", "/api/v1/agent/register", { body: { activationKey: added.activationKey, csr: await csr() } });
    const oldSerial = certificateInfo(first.json.certificate).serial;
    const identity = await authenticateAgent(ctx, { serial: oldSerial, deviceId: first.json.deviceId });
    assert.equal(identity.deviceName, "press-10");

    const { json: rekey } = await call("POST", "/api/v1/devices/press-10/activation-key", { token });
    const second = await call("POST", "/api/v1/agent/register", { body: { activationKey: rekey.activationKey, csr: await csr() } });
    assert.equal(second.status, 200);
    assert.ok(t.disconnected.includes(first.json.deviceId));
    await assert.rejects(authenticateAgent(ctx, { serial: oldSerial, deviceId: first.json.deviceId }), { code: "certificate-revoked" });
    const newSerial = certificateInfo(second.json.certificate).serial;
    assert.equal((await authenticateAgent(ctx, { serial: newSerial, deviceId: first.json.deviceId })).deviceName, "press-10");
  });

  test("removing a device revokes its certificate", async () => {
    const token = await loginAs("acme", "alice");
    const { json: added } = await call("POST", "/api/v1/devices", { token, body: { name: "press-11" } });
    const reg = await call("POST", "/api/v1/agent/register", { body: { activationKey: added.activationKey, csr: await csr() } });
    assert.equal((await call("DELETE", "/api/v1/devices/press-11", { token })).status, 200);
    const serial = certificateInfo(reg.json.certificate).serial;
    await assert.rejects(authenticateAgent(ctx, { serial, deviceId: reg.json.deviceId }), { code: "certificate-revoked" });
    assert.equal((await call("GET", "/api/v1/devices/press-11", { token })).json.error.code, "not-found");
  });

  test("another account's devices are invisible and read as missing", async () => {
    const bob = await loginAs("other", "bob");
    const list = await call("GET", "/api/v1/devices", { token: bob });
    assert.deepEqual(list.json, []);
    const show = await call("GET", "/api/v1/devices/press-7", { token: bob });
    assert.equal(show.status, 404);
    assert.equal(show.json.error.code, "not-found");
    assert.equal((await call("DELETE", "/api/v1/devices/press-7", { token: bob })).json.error.code, "not-found");
    const audit = await call("GET", "/api/v1/audit?limit=1000", { token: bob });
    assert.ok(audit.json.every((r: { object: string | null }) => !String(r.object).includes("press")));
  });

  test("the relay route needs a device certificate", async () => {
    const res = await call("GET", "/api/v1/agent/relay");
    assert.equal(res.status, 403);
    assert.equal(res.json.error.code, "certificate-rejected");
  });

  test("logout ends the session", async () => {
    const token = await loginAs("acme", "alice");
    assert.equal((await call("GET", "/api/v1/whoami", { token })).json.user, "alice");
    await call("POST", "/api/v1/logout", { token });
    assert.equal((await call("GET", "/api/v1/whoami", { token })).json.error.code, "unauthenticated");
  });

  test("every login and change is in the audit log", async () => {
    const token = await loginAs("acme", "alice");
    const { json } = await call("GET", "/api/v1/audit?limit=1000", { token });
    const actions = new Set(json.map((r: { action: string }) => r.action));
    for (const a of ["login", "device.add", "device.register", "device.remove", "logout"]) assert.ok(actions.has(a), a);
    assert.ok(json.some((r: { action: string; result: string }) => r.action === "login" && r.result === "denied"));
  });
});
