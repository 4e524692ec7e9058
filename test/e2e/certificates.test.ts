import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadOrCreateCa, signDeviceCsr } from "../../src/access/ca.js";
import { createCsrPem } from "../../src/shared/pki.js";
import { BACKENDS, dropSchema, siteOptions } from "./helpers/database.js";
import { type AuditJson, echoVia, Site } from "./helpers/fernlink.js";
import { assertExit, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * The relay trusts a tunnel only while its certificate is the device's current one, on
 * SQLite and on PostgreSQL: re-registering or removing a device cuts a live tunnel within
 * 5 s and keeps it out, and a certificate from another CA never gets in. The 5 s run from
 * the server's audit record of the change to the agent's own log line of the lost tunnel,
 * both stamped by their processes, so a slow CLI start does not count.
 */

const ACME = { account: "acme", user: "alice" };
const CUT_WITHIN_MS = 5_000;
/** The agent's log line for its tunnel ending, after its ISO time stamp. */
const TUNNEL_GONE = /^(\S+) \w+ \S+: (?:tunnel lost|cannot connect)\b/;

/** Waits for an agent log line matching `pattern` in what it wrote after `from` characters. */
function waitForStderr(proc: Proc, pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<RegExpExecArray> {
  return waitUntil(
    `agent log matches ${pattern}`,
    async () => {
      for (const line of proc.stderr.slice(from).split("\n")) {
        const m = pattern.exec(line);
        if (m) return m;
      }
      return undefined;
    },
    timeoutMs,
    50,
  );
}

for (const backend of BACKENDS) {
  describe(`device certificates on ${backend}`, () => {
    const schema = `fernlink_e2e_certs_${randomBytes(5).toString("hex")}`;
    let sb: Sandbox;
    let site: Site;
    let echo: Target;

    /** The `at` of the newest ok audit record of `action` on device `name`, as the server stamped it. */
    async function auditedAt(action: string, name: string): Promise<number> {
      const record = await waitUntil(`${action} of "${name}" is audited`, async () =>
        ((await site.audit("alice")) as (AuditJson & { object: string | null })[]).find((r) => r.action === action && r.object === name && r.result === "ok"),
      );
      return Date.parse(record.at);
    }

    /** Asserts the agent logged its tunnel gone within 5 s of the server-side event at `eventAt`; returns the delay. */
    async function assertCutWithin5s(agent: Proc, from: number, eventAt: number, what: string): Promise<number> {
      const [line, stamp] = await waitForStderr(agent, TUNNEL_GONE, 15_000, from);
      const goneAt = Date.parse(stamp!);
      assert.ok(Number.isFinite(goneAt), `agent log line starts with an ISO time: ${line}`);
      const delayMs = goneAt - eventAt;
      assert.ok(delayMs < CUT_WITHIN_MS, `the old tunnel ended ${delayMs} ms after ${what} (limit ${CUT_WITHIN_MS} ms): ${line}`);
      // Sanity: the line is about this event, not an earlier hiccup (the audit row is written just after the cut).
      assert.ok(delayMs > -2_000, `the tunnel ended ${-delayMs} ms before ${what}: ${line}`);
      return delayMs;
    }

    before(async () => {
      sb = await Sandbox.create(`certificates-${backend.toLowerCase()}`);
      if (backend === "PostgreSQL") sb.defer(() => dropSchema(schema));
      echo = await startEchoServer();
      sb.defer(echo.close);
      site = await Site.start(sb, [ACME], siteOptions(backend, schema));
      await site.login(ACME);
    });

    after(() => sb?.cleanup());

    test("registering a device again cuts the old agent's live tunnel within 5 s and keeps it out", async (t) => {
      const oldState = await site.register(await site.addDevice("alice", "press-7"), "old-agent");
      const oldAgent = await site.startAgent(oldState);
      await site.waitForDevice("alice", "press-7", true);

      const rekey = /^activation key: (\S+)$/m.exec(await site.ok("alice", ["device", "key", "press-7"]))?.[1];
      assert.ok(rekey);
      const from = oldAgent.stderr.length;
      const newState = await site.register(rekey, "new-agent");
      const delayMs = await assertCutWithin5s(oldAgent, from, await auditedAt("device.register", "press-7"), "the new registration");
      t.diagnostic(`old tunnel gone ${delayMs} ms after the registration's audit record`);
      await site.waitForDevice("alice", "press-7", false, CUT_WITHIN_MS);

      const newAgent = await site.startAgent(newState);
      const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
      assert.equal(await echoVia(conn, "new agent\n"), "new agent\n");
      await conn.proc.stop();

      // The access service confirms the old certificate is revoked: the old agent says so in
      // one line and exits 3 (a service manager does not restart it), and never comes back.
      await newAgent.stop();
      await site.waitForDevice("alice", "press-7", false, CUT_WITHIN_MS);
      // The relay refuses its certificate after TLS (a close, or a reset when the agent's first bytes
      // were unread), and a refused agent asks the service at once: a few seconds after the cut,
      // whatever its back-off (up to 30 s, src/agent/backoff.ts) has grown to.
      const exited = await Promise.race([oldAgent.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 40_000))]);
      assert.ok(exited, "the agent with the revoked certificate exits");
      assertExit(
        exited,
        3,
        new RegExp(
          "^fernlink: the service no longer accepts this device's certificate \\(certificate \\S+ is .*\\); " +
            "register the device again with a new key from: fernlink device key press-7$",
        ),
      );
      assert.equal((await site.devices("alice")).find((d) => d.name === "press-7")?.online, false);
      assert.doesNotMatch(oldAgent.stderr.slice(from), /: tunnel up\b/, "the old agent never got its tunnel back");
    });

    test("removing a device closes its live tunnel within 5 s", async (t) => {
      const state = await site.register(await site.addDevice("alice", "press-8"), "agent-8");
      const agent = await site.startAgent(state);
      const from = agent.stderr.length;
      await site.ok("alice", ["device", "remove", "press-8"]);
      const delayMs = await assertCutWithin5s(agent, from, await auditedAt("device.remove", "press-8"), "the removal");
      t.diagnostic(`tunnel gone ${delayMs} ms after the removal's audit record`);
      assert.equal(
        (await site.devices("alice")).some((d) => d.name === "press-8"),
        false,
      );
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
  });
}
