import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { LiveStream } from "../protocol/relay-access.js";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "./access-test-kit.js";
import { watchAccountStates } from "./account-watch.js";
import { hashActivationKey, newActivationKey } from "./activation-key.js";
import { authenticateApiToken } from "./api-tokens.js";
import { SYSTEM_CHAIN } from "./audit-chain.js";
import { verifyStoredChain } from "./audit-queries.js";
import { accountSummaries, addAccount, type OperatorRecord, removeAccount, setAccountState } from "./operator-accounts.js";
import { authenticateAgent, registerDevice } from "./registration.js";
import { hashSecret } from "./secret-token.js";
import { authenticate, login } from "./sessions.js";
import { findAccountByName } from "./store/accounts.js";
import { createActivationKey } from "./store/activation-keys.js";
import { createApiToken } from "./store/api-tokens.js";
import { appendAudit, listAudit } from "./store/audit.js";
import { findCertificate, recordCertificate } from "./store/certificates.js";
import { createDevice, getDevice, markDeviceSeen, setDeviceCertificate } from "./store/devices.js";
import { findUserByName } from "./store/users.js";

const PASSWORD = "correct horse battery staple";

for (const backend of TEST_BACKENDS) {
  describe(`the operator's accounts on ${backend}`, () => {
    let t: TestAccess;
    let sources = 0;
    before(async () => {
      t = await openTestAccess(backend);
    });
    after(() => t.close());

    const rec = (): OperatorRecord => ({ auditKey: t.ctx.auditKey, operator: "root (operator)", now: t.ctx.now() });
    const source = (): string => `192.0.2.${++sources}`;

    /** A new account with admin alice, her session and API token, and a registered device. */
    async function site() {
      const name = `plant-${randomUUID().slice(0, 8)}`;
      const account = await addAccount(t.ctx.db, { name, admin: "alice", password: PASSWORD }, rec());
      const session = await login(t.ctx, { account: name, user: "alice", password: PASSWORD }, source());
      const alice = (await findUserByName(t.ctx.db, account.id, "alice"))!;
      const apiToken = `flk_${randomUUID()}`;
      await createApiToken(t.ctx.db, {
        accountId: account.id,
        name: "ci",
        tokenHash: hashSecret(apiToken),
        role: "admin",
        createdBy: alice.id,
        now: t.ctx.now(),
        expiresAt: null,
      });
      const device = await createDevice(t.ctx.db, { accountId: account.id, name: "press-7", lan: ["192.168.1.0/24"], now: t.ctx.now() });
      const serial = randomUUID().replaceAll("-", "");
      await recordCertificate(t.ctx.db, { serial, deviceId: device.id, issuedAt: t.ctx.now(), notAfter: new Date(t.ctx.now().getTime() + 86_400_000) });
      await setDeviceCertificate(t.ctx.db, device.id, serial);
      return { name, account, session: session.token, apiToken, device, serial };
    }

    it("creates an account whose admin logs in, recorded in the system chain and the account's own", async () => {
      const s = await site();
      assert.equal((await authenticate(t.ctx, s.session, "test")).role, "admin");
      const system = await listAudit(t.ctx.db, SYSTEM_CHAIN, { limit: 100, actions: ["account.add"] });
      assert.ok(system.some((r) => r.object === s.name && r.actor === "root (operator)" && r.reason?.includes(s.account.id)));
      const own = await listAudit(t.ctx.db, s.account.id, { limit: 100, actions: ["account.add"] });
      assert.equal(own.length, 1);
      assert.equal(own[0]?.reason, "first admin alice");
    });

    it("refuses a taken name and a password the policy refuses, and creates nothing then", async () => {
      const s = await site();
      await assert.rejects(addAccount(t.ctx.db, { name: s.name, admin: "bob", password: PASSWORD }, rec()), { code: "conflict" });
      const name = `weak-${randomUUID().slice(0, 8)}`;
      await assert.rejects(addAccount(t.ctx.db, { name, admin: "bob", password: "short" }, rec()), { code: "password-too-short" });
      assert.equal(await findAccountByName(t.ctx.db, name), undefined);
    });

    it("a disabled account's login, session, API token and device certificate are refused; enabled, all work again", async () => {
      const s = await site();
      assert.equal(await setAccountState(t.ctx.db, s.name, "disabled", rec()), true);
      assert.equal(await setAccountState(t.ctx.db, s.name, "disabled", rec()), false);
      const disabled = { code: "account-disabled", message: "the account is disabled; ask your service provider" };
      await assert.rejects(login(t.ctx, { account: s.name, user: "alice", password: PASSWORD }, source()), disabled);
      // A wrong password learns nothing of the account's state.
      await assert.rejects(login(t.ctx, { account: s.name, user: "alice", password: "wrong password!" }, source()), { code: "login-failed" });
      await assert.rejects(authenticate(t.ctx, s.session, "test"), disabled);
      await assert.rejects(authenticateApiToken(t.ctx, s.apiToken, "test"), disabled);
      await assert.rejects(authenticateAgent(t.ctx, { serial: s.serial, deviceId: s.device.id }), disabled);
      const activationKey = newActivationKey();
      const keyHash = hashActivationKey(activationKey);
      const expiresAt = new Date(t.ctx.now().getTime() + 3_600_000);
      await createActivationKey(t.ctx.db, { deviceId: s.device.id, keyHash, now: t.ctx.now(), expiresAt });
      await assert.rejects(registerDevice(t.ctx, { activationKey, csr: "not read before the account's state" }, "test"), disabled);
      const key = await t.ctx.db.selectFrom("activation_keys").select("used_at").where("key_hash", "=", keyHash).executeTakeFirstOrThrow();
      assert.equal(key.used_at, null, "the refused registration left its key unused");

      assert.equal(await setAccountState(t.ctx.db, s.name, "enabled", rec()), true);
      assert.equal((await authenticate(t.ctx, s.session, "test")).userName, "alice");
      assert.equal((await authenticateApiToken(t.ctx, s.apiToken, "test")).tokenName, "ci");
      assert.equal((await authenticateAgent(t.ctx, { serial: s.serial, deviceId: s.device.id })).deviceName, "press-7");
      await login(t.ctx, { account: s.name, user: "alice", password: PASSWORD }, source());
      const actions = (await listAudit(t.ctx.db, s.account.id, { limit: 100 })).map((r) => `${r.action}:${r.result}:${r.reason ?? ""}`);
      assert.ok(actions.includes("account.disable:ok:"));
      assert.ok(actions.includes("account.enable:ok:"));
      assert.ok(actions.includes("login:denied:account disabled"));
    });

    it("names an unknown account in the refusal", async () => {
      await assert.rejects(setAccountState(t.ctx.db, "nobody-here", "disabled", rec()), /no account "nobody-here"/);
      await assert.rejects(removeAccount(t.ctx.db, "nobody-here", rec()), { code: "not-found" });
    });

    it("removes an account with its rows, revokes its certificates and keeps its audit chain verifiable", async () => {
      const s = await site();
      const gone = await removeAccount(t.ctx.db, s.name, rec());
      assert.deepEqual(gone, { devices: 1, users: 1 });
      assert.equal(await findAccountByName(t.ctx.db, s.name), undefined);
      assert.equal(await getDevice(t.ctx.db, s.device.id), undefined);
      assert.notEqual((await findCertificate(t.ctx.db, s.serial))?.revoked_at, null);
      await assert.rejects(authenticate(t.ctx, s.session, "test"), { code: "unauthenticated" });
      const chain = await listAudit(t.ctx.db, s.account.id, { limit: 100 });
      assert.equal(chain[0]?.action, "account.remove");
      assert.equal((await verifyStoredChain(t.ctx.db, t.ctx.auditKey, s.account.id)).problem, undefined);
      const system = await listAudit(t.ctx.db, SYSTEM_CHAIN, { limit: 100, actions: ["account.remove"] });
      assert.ok(system.some((r) => r.object === s.name && r.reason?.startsWith(`account ${s.account.id}`)));
    });

    it("lists each account's users, devices, devices online, open streams and bytes from the store and the audit", async () => {
      const s = await site();
      const other = await createDevice(t.ctx.db, { accountId: s.account.id, name: "press-8", lan: [], now: t.ctx.now() });
      const now = t.ctx.now();
      const write = (action: string, extra: Record<string, unknown> = {}) =>
        appendAudit(t.ctx.db, t.ctx.auditKey, { at: now, account_id: s.account.id, action, result: "ok", ...extra });
      await markDeviceSeen(t.ctx.db, s.device.id, { at: now, address: "127.0.0.1:1", relayId: null });
      await markDeviceSeen(t.ctx.db, other.id, { at: now, address: "127.0.0.1:2", relayId: null });
      await write("tunnel.up", { device: "press-7", object: "press-7" });
      await write("tunnel.up", { device: "press-8", object: "press-8" });
      await write("tunnel.down", { device: "press-8", object: "press-8" });
      await write("stream.open", { device: "press-7", object: "s1" });
      await write("stream.open", { device: "press-7", object: "s2" });
      await write("stream", { device: "press-7", object: "s1", started_at: now, ended_at: now, bytes_up: 100, bytes_down: 2000 });
      await write("stream", { device: "press-7", object: "press-7/10.0.0.1:502", result: "denied" });
      await setAccountState(t.ctx.db, s.name, "disabled", rec());
      const row = (await accountSummaries(t.ctx.db, now)).find((a) => a.name === s.name);
      assert.deepEqual(
        { ...row, createdAt: undefined, disabledAt: undefined },
        {
          name: s.name,
          id: s.account.id,
          state: "disabled",
          users: 1,
          devices: 2,
          online: 1,
          streams: 1,
          bytesUp: 100,
          bytesDown: 2000,
          createdAt: undefined,
          disabledAt: undefined,
        },
      );
      // Not seen for longer than its node renews `last_seen`: a tunnel record left by a killed node counts no more.
      const later = (await accountSummaries(t.ctx.db, new Date(now.getTime() + 600_000))).find((a) => a.name === s.name);
      assert.equal(later?.online, 0);
      assert.equal(later?.streams, 0);
      assert.equal((await accountSummaries(t.ctx.db, now, new Date(now.getTime() + 1000))).find((a) => a.name === s.name)?.bytesUp, 0);
    });

    it("each node closes a disabled account's tunnels and streams within its watch interval, and a removed account's once", async () => {
      const s = await site();
      const keep = await site();
      const stream = (id: string, accountId: string) => ({ streamId: id, grant: { accountId } }) as unknown as LiveStream;
      const tunnel = (deviceId: string, accountId: string) => ({ deviceId, deviceName: "press-7", address: "x", since: new Date(), relay: "r", accountId });
      t.live.streams.push(stream("a1", s.account.id), stream("k1", keep.account.id));
      t.live.tunnels.push(tunnel(s.device.id, s.account.id), tunnel(keep.device.id, keep.account.id));
      const stop = watchAccountStates(t.ctx, 20);
      try {
        await setAccountState(t.ctx.db, s.name, "disabled", rec());
        await until(() => t.cut.includes("a1") && t.disconnected.includes(s.device.id));
        assert.ok(!t.cut.includes("k1") && !t.disconnected.includes(keep.device.id));
        await removeAccount(t.ctx.db, keep.name, rec());
        await until(() => t.cut.includes("k1") && t.disconnected.includes(keep.device.id));
      } finally {
        stop();
      }
    });
  });
}

async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
