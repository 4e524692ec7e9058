import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import mqtt from "mqtt";
import { SMTPServer } from "smtp-server";
import { verifyWebhookSignature } from "../../src/protocol/webhook-signature.js";
import { Site } from "./helpers/fernlink.js";
import { assertExit, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * Notifications end to end, with real parts: a real SMTP server (smtp-server, STARTTLS with a
 * test certificate, login required) and a webhook receiver checking the HMAC, a real agent whose
 * machine raises alarms through the CLI, its loopback HTTP endpoint and Mosquitto, and a server
 * restarted between an event and its delivery.
 */

const ACME = { account: "acme", user: "alice" };
const SMTP_PASSWORD = "smtp pass for the test 7";
/** The offline delay of the rules; small, so the test is quick. */
const DELAY_MS = 2_000;
/** How late a notification may come after its delay on a loaded two-core machine (poll 1 s, SMTP handshakes). */
const LATE_MS = 10_000;

interface Hook {
  at: number;
  event: string;
  signed: boolean;
  body: Record<string, unknown>;
}

interface Mail {
  at: number;
  secure: boolean;
  user: string | undefined;
  raw: string;
}

let sb: Sandbox;
let site: Site;
let stateDir: string;
let agent: Proc | undefined;
let hookSecret = "";
const hooks: Hook[] = [];
const mails: Mail[] = [];
let hookUrl = "";
let smtpPort = 0;
const topic = `fernlink-test/${randomUUID()}/alarms`;

async function startWebhookReceiver(): Promise<void> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const signature = req.headers["x-fernlink-signature"];
      hooks.push({
        at: Date.now(),
        event: String(req.headers["x-fernlink-event"]),
        signed: verifyWebhookSignature(hookSecret, raw, typeof signature === "string" ? signature : undefined),
        body: JSON.parse(raw.toString("utf8")) as Record<string, unknown>,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sb.defer(() => new Promise((resolve) => server.close(resolve)));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

async function startSmtpServer(): Promise<void> {
  const key = sb.path("smtp-key.pem");
  const cert = sb.path("smtp-cert.pem");
  await promisify(execFile)("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
    ...["-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
  ]);
  const server = new SMTPServer({
    key: await readFile(key),
    cert: await readFile(cert),
    // AUTH only after STARTTLS (the library's default): a client that skipped it cannot log in.
    authMethods: ["PLAIN", "LOGIN"],
    onAuth(auth, _session, callback) {
      if (auth.username === "alerts" && auth.password === SMTP_PASSWORD) callback(null, { user: auth.username });
      else callback(new Error("bad login"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({ at: Date.now(), secure: session.secure, user: session.user as string | undefined, raw: Buffer.concat(chunks).toString("utf8") });
        callback();
      });
    },
    logger: false,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  sb.defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  smtpPort = (server.server.address() as AddressInfo).port;
}

before(async () => {
  sb = await Sandbox.create("notifications");
  await Promise.all([startWebhookReceiver(), startSmtpServer()]);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  stateDir = await site.register(await site.addDevice("alice", "press-7"), "agent-press-7");
});

after(async () => {
  await agent?.stop();
  await sb?.cleanup();
});

/** A REST call with alice's session, for the steps around the CLI's; the commands under test are run as commands below. */
function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  return site.api("alice", method, path, body);
}

const hooksOf = (event: string) => hooks.filter((h) => h.event === event);

function waitForHook(event: string, count: number, timeoutMs = DELAY_MS + LATE_MS): Promise<Hook> {
  return waitUntil(`webhook ${event} #${count}`, async () => hooksOf(event)[count - 1], timeoutMs, 50);
}

test("an admin adds an e-mail and a webhook channel and rules; the signing secret is shown once and secrets stay out of listings", {
  timeout: 60_000,
}, async () => {
  const mail = await site.cli(
    "alice",
    [
      ...["notify", "channel", "add", "ops-mail", "--email", "ops@example.com", "--smtp", `smtp://alerts@127.0.0.1:${smtpPort}`],
      ...["--smtp-ca", sb.path("smtp-cert.pem"), "--from", "fernlink@example.com"],
    ],
    { env: { FERNLINK_SMTP_PASSWORD: SMTP_PASSWORD } },
  );
  assertExit(mail, 0);
  const hook = await site.ok("alice", ["notify", "channel", "add", "ops-hook", "--webhook", hookUrl]);
  hookSecret = /^signing secret .*: (\S+)$/m.exec(hook)?.[1] ?? "";
  assert.ok(hookSecret.length >= 32, hook);

  const tested = await site.ok("alice", ["notify", "channel", "test", "ops-mail"]);
  assert.match(tested, /delivered/);
  await waitUntil("the test mail", async () => mails[0], 10_000);
  assert.equal(mails[0]!.secure, true, "STARTTLS before the mail");
  assert.equal(mails[0]!.user, "alerts");

  const added = await site.ok("alice", ["notify", "rule", "add", "--on", "device.offline", "--after", `${DELAY_MS / 1000}s`, "--channel", "ops-mail"]);
  assert.match(added, /^rule \S+ added: device\.offline on every device after 2s to ops-mail$/m);
  for (const rule of [
    { event: "device.offline", delaySeconds: DELAY_MS / 1000, channel: "ops-hook", device: "press-7" },
    { event: "device.online", channel: "ops-hook" },
    { event: "alarm", minSeverity: "info", channel: "ops-hook" },
  ])
    assert.equal((await api("POST", "/api/v1/notifications/rules", rule)).status, 201);
  const rules = (await api("GET", "/api/v1/notifications/rules")).json as { event: string; delaySeconds: number }[];
  assert.deepEqual(
    rules.map((r) => [r.event, r.delaySeconds]),
    [
      ["device.offline", 2],
      ["device.offline", 2],
      ["device.online", 0],
      ["alarm", 0],
    ],
  );
  const channels = JSON.stringify((await api("GET", "/api/v1/notifications/channels")).json);
  assert.ok(channels.includes("ops-hook") && !channels.includes(hookSecret) && !channels.includes(SMTP_PASSWORD), channels);
});

test("machine alarms raised with the CLI, the agent's loopback endpoint and an MQTT topic all arrive", { timeout: 60_000 }, async () => {
  agent = sb.start(["agent", "run", "--state", stateDir, "--alarm-listen", "127.0.0.1:0", "--alarm-mqtt", `mqtt://127.0.0.1:1883/${topic}`], {
    home: site.home("agent"),
  });
  const [, endpoint] = await agent.waitForLine(/^fernlink agent alarms: POST (\S+)$/);
  await agent.waitForLine(/^fernlink agent online: /);
  await waitUntil("the agent subscribed to the alarm topic", async () => (/alarm topic subscribed/.test(agent!.stderr) ? true : undefined), 15_000);

  const cli = await site.ok("agent", ["agent", "alarm", "--state", stateDir, "--severity", "critical", "spindle 92 °C (cli)"]);
  assert.match(cli, /alarm sent \(critical\); 1 notification queued/);
  const viaHttp = await fetch(endpoint!, { method: "POST", body: JSON.stringify({ severity: "warning", text: "door open (http)" }) });
  assert.equal(viaHttp.status, 202);
  const refused = await fetch(endpoint!, { method: "POST", body: JSON.stringify({ severity: "loud", text: "x" }) });
  assert.equal(refused.status, 400);
  const client = await mqtt.connectAsync("mqtt://127.0.0.1:1883");
  await client.publishAsync(topic, JSON.stringify({ severity: "info", text: "coolant low (mqtt)" }), { qos: 1 });
  await client.endAsync();

  await waitForHook("alarm", 3);
  const texts = hooksOf("alarm").map((h) => [h.body["severity"], h.body["text"], h.body["device"], h.signed]);
  assert.deepEqual(
    texts.sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    [
      ["info", "press-7 info: coolant low (mqtt)", "press-7", true],
      ["warning", "press-7 warning: door open (http)", "press-7", true],
      ["critical", "press-7 critical: spindle 92 °C (cli)", "press-7", true],
    ].sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
  );
});

test("a device offline longer than the delay is notified by e-mail (STARTTLS) and a signed webhook, and back online", { timeout: 60_000 }, async () => {
  const stopped = Date.now();
  await agent!.stop();
  agent = undefined;
  const hook = await waitForHook("device.offline", 1);
  const mail = await waitUntil("the offline mail", async () => mails.find((m) => /device\.offline/.test(m.raw)), LATE_MS);
  for (const at of [hook.at, mail.at]) {
    assert.ok(at - stopped >= DELAY_MS - 200, `delivered ${at - stopped} ms after the agent stopped, before the delay`);
    assert.ok(at - stopped <= DELAY_MS + LATE_MS, `delivered ${at - stopped} ms after the agent stopped`);
  }
  assert.equal(hook.signed, true);
  assert.deepEqual([hook.body["event"], hook.body["account"], hook.body["device"]], ["device.offline", "acme", "press-7"]);
  assert.equal(mail.secure, true);
  assert.match(mail.raw, /^Subject: \[Fernlink acme\] press-7: device\.offline$/m);
  assert.match(mail.raw, /^To: ops@example\.com$/m);

  agent = await site.startAgent(stateDir);
  const back = await waitForHook("device.online", 1, LATE_MS);
  assert.equal(back.body["device"], "press-7");

  const audit = (await api("GET", "/api/v1/audit?limit=200")).json as { action: string; reason: string | null }[];
  const sent = audit.filter((r) => r.action === "notify.sent").map((r) => r.reason ?? "");
  assert.ok(
    sent.some((r) => /^device\.offline via email to ops@example\.com/.test(r)),
    JSON.stringify(sent),
  );
  assert.ok(
    sent.some((r) => /^device\.offline via webhook to http/.test(r)),
    JSON.stringify(sent),
  );
  const log = (await api("GET", "/api/v1/notifications")).json as { event: string; state: string }[];
  assert.ok(log.filter((n) => n.event === "device.offline").every((n) => n.state === "sent"));
});

test("a notification queued before a server restart is delivered after it", { timeout: 90_000 }, async () => {
  const before = hooksOf("device.offline").length;
  await agent!.stop();
  agent = undefined;
  await waitUntil("press-7 offline", async () => {
    const devices = (await api("GET", "/api/v1/devices")).json as { name: string; online: boolean }[];
    return devices.some((d) => d.name === "press-7" && !d.online) ? true : undefined;
  });
  // Stopped at once: the offline row is due only after the delay, so the old server cannot have sent it.
  const stopped = await site.server.stop("SIGTERM");
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(hooksOf("device.offline").length, before, "nothing delivered before the restart");
  await site.startServer(`127.0.0.1:${site.port}`);
  const hook = await waitForHook("device.offline", before + 1, DELAY_MS + LATE_MS + 10_000);
  assert.equal(hook.signed, true);
  assert.equal(hook.body["device"], "press-7");
});
