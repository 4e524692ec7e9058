import assert from "node:assert/strict";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadOrCreateCa, signDeviceCsr } from "../../src/access/ca.js";
import { createCsrPem } from "../../src/shared/pki.js";
import { Site } from "./helpers/fernlink.js";
import { Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { echoOnce, startEchoServer, type Target } from "./helpers/targets.js";

/**
 * The relay trusts a tunnel only while its certificate is the device's current one:
 * re-registering or removing a device cuts a live tunnel and keeps it out, and a
 * certificate from another CA never gets in.
 */

const ACME = { account: "acme", user: "alice" };
let sb: Sandbox;
let site: Site;
let echo: Target;

before(async () => {
  sb = await Sandbox.create("certificates");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
});

after(() => sb?.cleanup());

function waitForStderr(proc: Proc, pattern: RegExp, timeoutMs = 10_000): Promise<true> {
  return waitUntil(`agent log matches ${pattern}`, async () => (pattern.test(proc.stderr) ? true : undefined), timeoutMs);
}

test("registering a device again cuts the old agent's live tunnel within 5 s and keeps it out", async () => {
  const oldState = await site.register(await site.addDevice("alice", "press-7"), "old-agent");
  const oldAgent = await site.startAgent(oldState);
  await site.waitForDevice("alice", "press-7", true);

  const rekey = /^activation key: (\S+)$/m.exec(await site.ok("alice", ["device", "key", "press-7"]))?.[1];
  assert.ok(rekey);
  const cutAt = Date.now();
  const newState = await site.register(rekey, "new-agent");
  await waitForStderr(oldAgent, /tunnel lost|cannot connect/);
  assert.ok(Date.now() - cutAt < 5_000 + 2_000, "the old tunnel ended within 5 s of the new registration");
  await site.waitForDevice("alice", "press-7", false, 5_000);

  const newAgent = await site.startAgent(newState);
  const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  assert.equal(await echoOnce(conn.forwards[0]!, "new agent\n"), "new agent\n");
  await conn.proc.stop();

  // The old agent keeps retrying with its revoked certificate: it must never come back.
  await newAgent.stop();
  await site.waitForDevice("alice", "press-7", false, 5_000);
  await waitForStderr(oldAgent, /no longer accepts this device's certificate/, 15_000);
  assert.equal((await site.devices("alice")).find((d) => d.name === "press-7")?.online, false);
  await oldAgent.stop();
});

test("removing a device closes its live tunnel within 5 s", async () => {
  const state = await site.register(await site.addDevice("alice", "press-8"), "agent-8");
  const agent = await site.startAgent(state);
  await site.ok("alice", ["device", "remove", "press-8"]);
  await waitForStderr(agent, /tunnel lost/, 5_000);
  assert.equal((await site.devices("alice")).some((d) => d.name === "press-8"), false);
  await agent.stop();
});

test("an agent whose certificate comes from another CA is refused and the device stays offline", async () => {
  const state = await site.register(await site.addDevice("alice", "press-9"), "agent-9");
  // Same device id and key, but the certificate is signed by a CA the server never saw.
  const forged = sb.path("forged-agent");
  await cp(state, forged, { recursive: true });
  const config = JSON.parse(await readFile(join(forged, "agent.json"), "utf8")) as { deviceId: string };
  const foreignCa = await loadOrCreateCa(sb.path("foreign-ca"), { now: new Date() });
  const csr = await createCsrPem(await readFile(join(forged, "device-key.pem"), "utf8"), { commonName: "forged" });
  const cert = await signDeviceCsr(foreignCa, { csrPem: csr, deviceId: config.deviceId, accountId: "x", deviceName: "press-9", now: new Date() });
  await writeFile(join(forged, "device.pem"), cert.certPem, { mode: 0o600 });

  const agent = sb.start(["agent", "run", "--state", forged], { home: site.home("agent") });
  await waitForStderr(agent, /no longer accepts this device's certificate|cannot connect/);
  assert.equal(agent.stdout.includes("fernlink agent online"), false);
  assert.equal((await site.devices("alice")).find((d) => d.name === "press-9")?.online, false);
  await agent.stop();
});
