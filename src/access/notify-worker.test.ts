import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { verifyWebhookSignature } from "../protocol/webhook-signature.js";
import { openTestAccess, type TestAccess } from "./access-test-kit.js";
import type { Principal } from "./context.js";
import { recordSwitch } from "./device-switch.js";
import { reserveAttempt, settleFailure } from "./login-guard.js";
import { addChannel, addRule } from "./notify-channels.js";
import { deviceCameUp, deviceWentDown, raiseEvent } from "./notify-raise.js";
import { createNotifyWorker } from "./notify-worker.js";
import { createAccount } from "./store/accounts.js";
import { recordCertificate } from "./store/certificates.js";
import { createDevice, setDeviceCertificate } from "./store/devices.js";
import { createUser } from "./store/users.js";

interface Received {
  status: number;
  delivery: string;
  signed: boolean;
  body: Record<string, unknown>;
}

let t: TestAccess;
let server: http.Server;
let url = "";
let answer = 204;
const received: Received[] = [];
let secret = "";
let admin: Principal;
let deviceId = "";
const online = new Set<string>();

before(async () => {
  t = await openTestAccess("SQLite");
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "GET") {
        received.push({ status: answer, delivery: "", signed: false, body: { url: req.url } });
        res.writeHead(answer).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const signature = req.headers["x-fernlink-signature"];
      received.push({
        status: answer,
        delivery: String(req.headers["x-fernlink-delivery"]),
        signed: verifyWebhookSignature(secret, raw, typeof signature === "string" ? signature : undefined),
        body: JSON.parse(raw.toString("utf8")) as Record<string, unknown>,
      });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const account = await createAccount(t.ctx.db, { name: "acme", now: t.ctx.now() });
  deviceId = (await createDevice(t.ctx.db, { accountId: account.id, name: "press-7", lan: [], now: t.ctx.now() })).id;
  admin = { accountId: account.id, accountName: "acme", userId: "u1", userName: "alice", role: "admin", sessionId: "s1", expiresAt: null, source: "test" };
  secret = (await addChannel(t.ctx, admin, { kind: "webhook", name: "hook", url })).secret!;
  t.ctx.presence.status = (id) => (online.has(id) ? { relayId: "r", relay: "r", address: "a", since: new Date() } : undefined);
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const count = (): number => received.length;
const sighting = () => ({ accountId: admin.accountId, deviceId, deviceName: "press-7", at: t.ctx.now() });
const audited = async (action: string) => (await t.ctx.db.selectFrom("audit").selectAll().where("action", "=", action).execute()).map((r) => r.reason);

test("an offline notification waits for its delay, is dropped when the device is back, and is otherwise sent once, signed and audited", async () => {
  const rule = await addRule(t.ctx, admin, { event: "device.offline", channel: "hook", delaySeconds: 60 });
  const worker = createNotifyWorker(t.ctx);
  try {
    // Down, and back on another node before the delay: the row waits, then finds the device online.
    await deviceWentDown(t.ctx, sighting());
    await worker.runOnce();
    t.advance(61_000);
    online.add(deviceId);
    await worker.runOnce();
    // Down and up again on this node: the waiting row is cancelled in the store at once.
    online.delete(deviceId);
    await deviceWentDown(t.ctx, sighting());
    t.advance(1_000);
    assert.equal(await deviceCameUp(t.ctx, sighting()), 0, "no back-online without an offline notification");
    t.advance(61_000);
    await worker.runOnce();
    assert.equal(count(), 0);
    const states = await t.ctx.db.selectFrom("notifications").select("state").execute();
    assert.deepEqual(
      states.map((s) => s.state),
      ["cancelled", "cancelled"],
    );

    // Down for good: sent once the delay is over.
    await deviceWentDown(t.ctx, sighting());
    t.advance(59_000);
    await worker.runOnce();
    assert.equal(count(), 0);
    t.advance(1_000);
    await worker.runOnce();
    await worker.runOnce();
    assert.equal(count(), 1);
    assert.equal(received[0]!.signed, true);
    assert.deepEqual([received[0]!.body["event"], received[0]!.body["device"]], ["device.offline", "press-7"]);
    await t.ctx.work.drain(5_000);
    assert.equal((await audited("notify.sent")).length, 1);
  } finally {
    await worker.stop();
    await t.ctx.db.deleteFrom("notify_rules").where("id", "=", rule.id).execute();
    received.length = 0;
  }
});

test("a receiver that fails is tried again with backoff, the same delivery id each time, and the failure audited once the tries are spent", async () => {
  await addRule(t.ctx, admin, { event: "alarm", channel: "hook" });
  const worker = createNotifyWorker(t.ctx, { retry: { baseMs: 1_000, maxMs: 4_000, attempts: 3 } });
  answer = 503;
  try {
    const at = t.ctx.now();
    assert.equal(
      await raiseEvent(t.ctx, {
        event: "alarm",
        accountId: admin.accountId,
        deviceId,
        deviceName: "press-7",
        at,
        key: "a1",
        summary: "hot",
        severity: "critical",
      }),
      1,
    );
    await worker.runOnce();
    assert.equal(count(), 1);
    await worker.runOnce();
    assert.equal(count(), 1, "not again before its backoff");
    t.advance(1_000);
    await worker.runOnce();
    assert.equal(count(), 2);
    t.advance(1_500);
    await worker.runOnce();
    assert.equal(count(), 2, "the second wait is twice the first, less at most a fifth");
    t.advance(500);
    await worker.runOnce();
    assert.equal(count(), 3);
    t.advance(60_000);
    await worker.runOnce();
    assert.equal(count(), 3, "no fourth try");
    assert.equal(new Set(received.map((r) => r.delivery)).size, 1);
    const row = await t.ctx.db.selectFrom("notifications").selectAll().where("event", "=", "alarm").executeTakeFirstOrThrow();
    assert.deepEqual([row.state, row.attempts, row.last_error], ["failed", 3, `webhook ${new URL(url).host} answered HTTP 503`]);
    await t.ctx.work.drain(5_000);
    const failed = await audited("notify.failed");
    assert.equal(failed.length, 1);
    assert.match(failed[0] ?? "", /^alarm via webhook, 3 attempts: webhook .* answered HTTP 503$/);
  } finally {
    await worker.stop();
    answer = 204;
  }
});

test("a certificate ending within a rule's lead time is announced once, by SMS through the gateway's URL template", async () => {
  received.length = 0;
  const port = new URL(url).port;
  await addChannel(t.ctx, admin, { kind: "sms", name: "on-call", to: "+491701234567", template: `http://127.0.0.1:${port}/sms?key=K&to={to}&text={text}` });
  await addRule(t.ctx, admin, { event: "certificate.expiring", channel: "on-call", delaySeconds: 7 * 86_400 });
  await recordCertificate(t.ctx.db, { serial: "0a1b", deviceId, issuedAt: t.ctx.now(), notAfter: new Date(t.ctx.now().getTime() + 10 * 86_400_000) });
  await setDeviceCertificate(t.ctx.db, deviceId, "0a1b");
  const scan = () => createNotifyWorker(t.ctx, { expiryScanMs: 0 });
  try {
    const early = scan();
    await early.runOnce();
    await early.stop();
    assert.equal(count(), 0, "ten days left, the rule asks at seven");
    t.advance(4 * 86_400_000);
    for (let i = 0; i < 2; i++) {
      const worker = scan();
      await worker.runOnce();
      await worker.runOnce();
      await worker.stop();
    }
    assert.equal(count(), 1, "announced once, though scanned again");
    const sms = new URL(String(received[0]!.body["url"]), "http://x");
    assert.deepEqual([sms.pathname, sms.searchParams.get("key"), sms.searchParams.get("to")], ["/sms", "K", "+491701234567"]);
    assert.match(sms.searchParams.get("text") ?? "", /^the certificate of press-7 ends at /);
  } finally {
    received.length = 0;
  }
});

test("a turn of the key switch is notified with the old and new position; the first report of a device is not", async () => {
  received.length = 0;
  await addRule(t.ctx, admin, { event: "device.switch", channel: "hook" });
  const agent = { accountId: admin.accountId, deviceId, deviceName: "press-7", certSerial: "0a1b" };
  const worker = createNotifyWorker(t.ctx);
  try {
    await recordSwitch(t.ctx, agent, "remote", "test");
    await t.ctx.work.drain(5_000);
    await recordSwitch(t.ctx, agent, "off", "test");
    await t.ctx.work.drain(5_000);
    await worker.runOnce();
    assert.equal(count(), 1);
    assert.deepEqual([received[0]!.body["event"], received[0]!.body["details"]], ["device.switch", { from: "remote", to: "off" }]);
  } finally {
    await worker.stop();
    received.length = 0;
  }
});

test("a user locked after failed logins is notified once, naming the user and the source", async () => {
  received.length = 0;
  await addRule(t.ctx, admin, { event: "login.locked", channel: "hook" });
  await createUser(t.ctx.db, { accountId: admin.accountId, name: "bob", passwordHash: "not checked here", role: "member", now: t.ctx.now() });
  const worker = createNotifyWorker(t.ctx);
  try {
    for (let i = 0; i < 6; i++) {
      const reservation = await reserveAttempt(t.ctx, { accountName: "acme", userName: "bob", source: "198.51.100.7", now: t.ctx.now() });
      await settleFailure(t.ctx, reservation);
    }
    await t.ctx.work.drain(5_000);
    await worker.runOnce();
    assert.equal(count(), 1);
    assert.equal(received[0]!.body["event"], "login.locked");
    assert.deepEqual((received[0]!.body["details"] as Record<string, string>)["user"], "bob");
    assert.match(String(received[0]!.body["text"]), /^user bob is locked until .* after 5 failed logins \(last from 198\.51\.100\.7\)$/);
  } finally {
    await worker.stop();
    received.length = 0;
  }
});
