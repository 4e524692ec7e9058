import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { hashSecret } from "../../src/access/secret-token.js";
import { ROUTES } from "../../src/protocol/api.js";
import { requestJson } from "../../src/shared/https-json.js";
import { createCsrPem, generateKeyPairPem } from "../../src/shared/pki.js";
import { BACKENDS, dropSchema, siteOptions, sql } from "./helpers/database.js";
import { Site } from "./helpers/fernlink.js";
import { assertExit, Sandbox } from "./helpers/processes.js";

/**
 * Expiry through real processes, on SQLite and on PostgreSQL: an activation key past its
 * `expires_at`, a session past its absolute end, and a session left idle for more than
 * 2 hours are all refused, while a session used just under 2 hours ago still works.
 * The CLI has no flag to age things, so the tests move the times in the database.
 */

const ACME = { account: "acme", user: "alice" };
const SESSION_EXPIRED = /^fernlink: the session has expired or was ended; run: fernlink login$/;
const SESSION_IDLE = /^fernlink: the session ended after 2 hours without use; run: fernlink login$/;
const MINUTE_MS = 60_000;
// The 2 hours are written out, not imported, so that changing the limit fails this test.
const TWO_HOURS_MS = 2 * 60 * MINUTE_MS;

for (const backend of BACKENDS) {
  describe(`expiry of activation keys and sessions on ${backend}`, () => {
    const schema = `fernlink_e2e_expiry_${randomBytes(5).toString("hex")}`;
    let sb: Sandbox;
    let site: Site;
    let caPem: string;

    /** Logs alice in with her own FERNLINK_HOME `home`; returns the session token it saved. */
    async function loginAs(home: string): Promise<string> {
      await site.ok(home, ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user]);
      return (JSON.parse(await readFile(join(site.home(home), "session.json"), "utf8")) as { token: string }).token;
    }

    /** Sets one column of the session behind `token`, as the server would find it. */
    async function setSessionTime(token: string, column: "expires_at" | "last_used_at", at: Date): Promise<void> {
      const { changes } = await sql(site, `update sessions set ${column} = $1 where token_hash = $2`, [at.toISOString(), hashSecret(token)]);
      assert.equal(changes, 1, `the session of the token is in the ${backend} store`);
    }

    /** `GET /api/v1/devices` with `token`: the code the API refuses it with, or "ok". */
    async function apiVerdict(token: string): Promise<string> {
      try {
        await requestJson({ server: site.url, path: ROUTES.devices, token, ca: caPem, response: z.unknown() });
        return "ok";
      } catch (err) {
        return (err as { code?: string }).code ?? String(err);
      }
    }

    before(async () => {
      sb = await Sandbox.create(`expiry-${backend.toLowerCase()}`);
      if (backend === "PostgreSQL") sb.defer(() => dropSchema(schema));
      site = await Site.start(sb, [ACME], siteOptions(backend, schema));
      caPem = await readFile(site.ca, "utf8");
      await site.login(ACME);
    });

    after(() => sb?.cleanup());

    test("an activation key past its expiry is refused with activation-key-expired, and a new key registers the device", async () => {
      const key = await site.addDevice("alice", "press-9");
      const { changes } = await sql(
        site,
        "update activation_keys set expires_at = $1 where used_at is null and device_id = (select id from devices where name = $2)",
        [new Date(Date.now() - MINUTE_MS).toISOString(), "press-9"],
      );
      assert.equal(changes, 1);

      const r = await site.cli("agent", ["agent", "register", "--server", site.url, "--ca", site.ca, "--key", key, "--state", sb.path("expired")]);
      assertExit(r, 1, /^fernlink: the activation key has expired; have an admin issue a new one with: fernlink device key NAME$/);
      const { privateKeyPem } = await generateKeyPairPem();
      const csr = await createCsrPem(privateKeyPem, { commonName: "press-9" });
      await assert.rejects(requestJson({ server: site.url, path: ROUTES.register, body: { activationKey: key, csr }, ca: caPem, response: z.unknown() }), {
        code: "activation-key-expired",
      });
      assert.equal((await site.devices("alice")).find((d) => d.name === "press-9")?.registered, false);

      const fresh = /^activation key: (\S+)$/m.exec(await site.ok("alice", ["device", "key", "press-9"]))?.[1];
      assert.ok(fresh, "device key prints a new activation key");
      await site.register(fresh, "renewed");
      assert.equal((await site.devices("alice")).find((d) => d.name === "press-9")?.registered, true);
    });

    test("a session past its absolute expiry is refused: device list exits 1 asking to log in again", async () => {
      const token = await loginAs("alice-absolute");
      assert.equal(await apiVerdict(token), "ok");
      await setSessionTime(token, "expires_at", new Date(Date.now() - MINUTE_MS));

      assertExit(await site.cli("alice-absolute", ["device", "list"]), 1, SESSION_EXPIRED);
      assert.equal(await apiVerdict(token), "unauthenticated");
      assertExit(await site.cli("alice", ["device", "list"]), 0);

      const renewed = await loginAs("alice-absolute");
      assert.notEqual(renewed, token);
      assertExit(await site.cli("alice-absolute", ["device", "list"]), 0);
    });

    test("a session used just under 2 hours ago still works and its last use moves to now", async () => {
      const token = await loginAs("alice-busy");
      const sentAt = Date.now();
      await setSessionTime(token, "last_used_at", new Date(sentAt - TWO_HOURS_MS + MINUTE_MS));

      assertExit(await site.cli("alice-busy", ["device", "list"]), 0);
      const { rows } = await sql(site, "select last_used_at from sessions where token_hash = $1", [hashSecret(token)]);
      const lastUsed = Date.parse(String(rows[0]?.["last_used_at"]));
      assert.ok(lastUsed >= sentAt - 1_000, `last_used_at ${String(rows[0]?.["last_used_at"])} was refreshed by the request`);
    });

    test("a session idle for more than 2 hours is refused: device list exits 1 asking to log in again", async () => {
      const token = await loginAs("alice-idle");
      // The server tolerates a minute of lag in last_used_at; go a minute beyond it.
      await setSessionTime(token, "last_used_at", new Date(Date.now() - TWO_HOURS_MS - 2 * MINUTE_MS));

      assertExit(await site.cli("alice-idle", ["device", "list"]), 1, SESSION_IDLE);
      assert.equal(await apiVerdict(token), "unauthenticated");
      assertExit(await site.cli("alice", ["device", "list"]), 0);

      await loginAs("alice-idle");
      assertExit(await site.cli("alice-idle", ["device", "list"]), 0);
    });
  });
}
