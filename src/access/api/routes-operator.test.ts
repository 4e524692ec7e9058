import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "../access-test-kit.js";
import { SYSTEM_CHAIN } from "../audit-chain.js";
import { addOperatorToken, removeOperatorToken } from "../operator-tokens.js";
import { login } from "../sessions.js";
import { listAudit } from "../store/audit.js";
import { createApiApp } from "./app.js";

const PASSWORD = "correct horse battery staple";

for (const backend of TEST_BACKENDS) {
  describe(`the operator's routes on ${backend}`, () => {
    let t: TestAccess;
    let app: ReturnType<typeof createApiApp>;
    before(async () => {
      t = await openTestAccess(backend);
      app = createApiApp(t.ctx);
    });
    after(() => t.close());

    const rec = () => ({ auditKey: t.ctx.auditKey, operator: "root (operator)", now: t.ctx.now() });
    const call = async (method: string, path: string, token: string | undefined, body?: unknown) => {
      const res = await app.request(path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
    };

    it("creates, lists, disables and enables accounts with an operator token, each recorded under the token's name", async () => {
      const token = await addOperatorToken(t.ctx.db, "billing", rec());
      assert.match(token, /^flo_[A-Za-z0-9_-]{43}$/);
      const made = await call("POST", "/api/v1/operator/accounts", token, { name: "gamma", admin: "gina", password: PASSWORD });
      assert.equal(made.status, 201, JSON.stringify(made.json));
      assert.equal(made.json["state"], "enabled");
      await login(t.ctx, { account: "gamma", user: "gina", password: PASSWORD }, "192.0.2.1");
      const weak = await call("POST", "/api/v1/operator/accounts", token, { name: "delta", admin: "dan", password: "short" });
      assert.deepEqual([weak.status, weak.json.error?.code], [400, "password-too-short"]);
      const off = await call("POST", "/api/v1/operator/accounts/gamma/state", token, { state: "disabled" });
      assert.deepEqual(off.json, { name: "gamma", state: "disabled", changed: true });
      await assert.rejects(login(t.ctx, { account: "gamma", user: "gina", password: PASSWORD }, "192.0.2.1"), { code: "account-disabled" });
      const list = await call("GET", "/api/v1/operator/accounts?since=2030-01-01", token);
      assert.deepEqual(
        (list.json as unknown as { name: string; state: string }[]).map((a) => [a.name, a.state]),
        [["gamma", "disabled"]],
      );
      const on = await call("POST", "/api/v1/operator/accounts/gamma/state", token, { state: "enabled" });
      assert.equal(on.json["changed"], true);
      const missing = await call("POST", "/api/v1/operator/accounts/nobody/state", token, { state: "enabled" });
      assert.deepEqual([missing.status, missing.json.error?.code], [404, "not-found"]);
      const system = await listAudit(t.ctx.db, SYSTEM_CHAIN, { limit: 100 });
      assert.deepEqual(
        system
          .filter((r) => r.object === "gamma")
          .map((r) => [r.action, r.actor])
          .reverse(),
        [
          ["account.add", "token billing (operator)"],
          ["account.disable", "token billing (operator)"],
          ["account.enable", "token billing (operator)"],
        ],
      );
    });

    it("refuses no token, a session token, an unknown and a revoked operator token alike", async () => {
      const token = await addOperatorToken(t.ctx.db, "old", rec());
      await removeOperatorToken(t.ctx.db, "old", rec());
      await assert.rejects(removeOperatorToken(t.ctx.db, "old", rec()), { code: "not-found" });
      await assert.rejects(addOperatorToken(t.ctx.db, "old", rec()), { code: "conflict" });
      for (const bearer of [undefined, "a-session-token", "flo_unknown", token]) {
        const res = await call("GET", "/api/v1/operator/accounts", bearer);
        assert.deepEqual([res.status, res.json.error?.code], [401, "unauthenticated"], String(bearer));
        assert.match(res.json.error?.message ?? "", /fernlink operator token add/);
      }
    });
  });
}
