import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { z } from "zod";
import { requestJson } from "../../src/shared/https-json.js";
import { type AuditJson, Site } from "./helpers/fernlink.js";
import { type Answer, LoginClient } from "./helpers/login-client.js";
import { assertExit, PASSWORD, type RunResult, Sandbox } from "./helpers/processes.js";
import { totp } from "./helpers/totp.js";

/**
 * Login security through real processes, on SQLite and on PostgreSQL: lockout after five
 * failures and an admin's unlock, one-time codes accepted once, `passwd` ending the other
 * sessions, and a source address throttled after ten failures while another is not.
 * Each refusal the CLI prints is checked through `fernlink login` once; repeated refusals
 * and setup go through the REST API (as does `site.audit`), since every CLI start costs a Node start.
 */

const BASE = process.env["FERNLINK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const ACME = { account: "acme", user: "alice" };
const LOGIN_FAILED = /^fernlink: login failed: wrong account, user, password or one-time code/;

for (const backend of ["SQLite", "PostgreSQL"] as const) {
  describe(`login security on ${backend}`, () => {
    const schema = `fernlink_e2e_login_${randomBytes(5).toString("hex")}`;
    let sb: Sandbox;
    let site: Site;
    /** Failed logins sent from 127.0.0.1 so far: the throttle counts them. */
    let failures = 0;
    /** One HTTP/2 connection from 127.0.0.1 for logins that need no CLI. */
    let logins: LoginClient | undefined;

    /** `fernlink login` as `user` of acme into the FERNLINK_HOME called `home`. */
    const login = (home: string, user: string, options: { password?: string; otp?: string; server?: string } = {}): Promise<RunResult> =>
      site.cli(
        home,
        ["login", "--server", options.server ?? site.url, "--ca", site.ca, "--account", "acme", "--user", user, ...(options.otp ? ["--otp", options.otp] : [])],
        {
          env: { FERNLINK_PASSWORD: options.password ?? PASSWORD },
        },
      );

    /** A login that must fail with the one login-failed message; counted toward the throttle. */
    async function mustFail(home: string, user: string, options: { password?: string; otp?: string } = {}): Promise<void> {
      failures++;
      assertExit(await login(home, user, options), 1, LOGIN_FAILED);
    }

    /** `POST /api/v1/login` as `user` of acme from 127.0.0.1, without a CLI start. */
    function loginApi(user: string, password: string): Promise<Answer> {
      assert.ok(logins, "the login connection is open");
      return logins.login({ account: "acme", user, password });
    }

    /** The same refusal as `mustFail`, asked through the API; counted toward the throttle. */
    async function mustFailApi(user: string, password = PASSWORD): Promise<void> {
      failures++;
      const answer = await loginApi(user, password);
      assert.deepEqual([answer.status, answer.code], [401, "login-failed"]);
    }

    async function addUser(name: string): Promise<void> {
      await site.apiOk("alice", "POST", "/api/v1/users", { name, role: "member", password: PASSWORD });
    }

    async function users(): Promise<{ name: string; locked: boolean }[]> {
      return (await site.apiOk("alice", "GET", "/api/v1/users")) as { name: string; locked: boolean }[];
    }

    /** Reasons of the user's refused logins, oldest first (`audit` lists newest first). */
    async function deniedReasons(user: string): Promise<string[]> {
      const records = ((await site.audit("alice", 500)) as (AuditJson & { object: string | null })[]).reverse();
      return records.filter((r) => r.action === "login" && r.result === "denied" && r.object === `acme/${user}`).map((r) => r.reason ?? "");
    }

    before(async () => {
      sb = await Sandbox.create(`login-${backend.toLowerCase()}`);
      if (backend === "PostgreSQL") {
        sb.defer(async () => {
          const client = new pg.Client({ connectionString: BASE });
          await client.connect();
          try {
            await client.query(`drop schema if exists ${schema} cascade`);
          } finally {
            await client.end();
          }
        });
      }
      site = await Site.start(sb, [ACME], backend === "PostgreSQL" ? { db: `${BASE}?schema=${schema}` } : {});
      await site.login(ACME);
      logins = await LoginClient.open(site, "127.0.0.1");
    });

    after(async () => {
      await logins?.close();
      await sb?.cleanup();
    });

    test("five failed logins lock the user, even against the right password, until an admin unlocks", async () => {
      await addUser("bob");
      await mustFail("bob", "bob", { password: "wrong password 0" });
      for (let i = 1; i < 5; i++) await mustFailApi("bob", `wrong password ${i}`);
      await mustFail("bob", "bob");
      assert.equal((await users()).find((u) => u.name === "bob")?.locked, true);
      const reasons = await deniedReasons("bob");
      assert.deepEqual(reasons.slice(0, 5), Array(5).fill("wrong password"));
      assert.match(reasons[5]!, /^user locked until /);
      assert.ok((await site.audit("alice")).some((r) => r.action === "user.lock"));
      assert.equal(await site.ok("alice", ["user", "unlock", "bob"]), 'user "bob" unlocked\n');
      assertExit(await login("bob", "bob"), 0);
      assert.ok((await site.audit("alice")).some((r) => r.action === "user.unlock" && r.result === "ok"));
    });

    test("with one-time codes on, login asks for --otp, and the same code is refused the second time", async () => {
      const enabled = await site.ok("bob", ["otp", "enable"]);
      assert.match(enabled, /^otpauth:\/\/totp\/Fernlink:bob%40acme\?.*secret=/m);
      const secret = /^secret: ([A-Z2-7]+)$/m.exec(enabled)?.[1];
      assert.ok(secret, enabled);
      // A right password without the code asks for it, and counts as no failure.
      assertExit(await login("bob", "bob"), 1, /^fernlink: this user signs in with a one-time code/);
      const code = totp(secret);
      assertExit(await login("bob", "bob", { otp: code }), 0);
      await mustFail("bob-laptop", "bob", { otp: code });
      const reasons = await deniedReasons("bob");
      assert.deepEqual(reasons.slice(-2), ["one-time code missing", "one-time code already used"]);
    });

    test("passwd ends the user's other sessions and keeps the one it ran in", async () => {
      await addUser("carol");
      assertExit(await login("carol", "carol"), 0);
      assertExit(await login("carol-laptop", "carol"), 0);
      const changed = await site.cli("carol-laptop", ["passwd"], { env: { FERNLINK_NEW_PASSWORD: "a new and long password" } });
      assertExit(changed, 0);
      assert.equal(changed.stdout, "password changed; 1 other session(s) ended\n");
      assertExit(await site.cli("carol", ["whoami"]), 1, /^fernlink: the session has expired or was ended; run: fernlink login$/);
      assertExit(await site.cli("carol-laptop", ["whoami"]), 0);
      await mustFailApi("carol");
      assertExit(await login("carol", "carol", { password: "a new and long password" }), 0);
    });

    test("an admin sets the policy, makes, uses and revokes an API token, and removes a user", async () => {
      // Flag parsing is the CLI's alone, the same whatever the store.
      if (backend === "SQLite")
        assertExit(await site.cli("alice", ["account", "policy", "--min-length", "abc"]), 2, /--min-length "abc" must be a whole number/);
      const policy = JSON.parse(await site.ok("alice", ["account", "policy", "--min-length", "16", "--history", "3", "--json"])) as Record<string, unknown>;
      assert.deepEqual(policy, { minLength: 16, maxAgeDays: null, history: 3, lockoutAfter: 5, requireOtp: false, requireReason: false });
      const weak = await site.cli("alice", ["user", "add", "erin"], { env: { FERNLINK_NEW_PASSWORD: "only 15 chars!!" } });
      assertExit(weak, 1, /^fernlink: the new password is too short \(15 characters\); the account policy asks for at least 16$/);
      assertExit(await site.cli("carol", ["account", "policy", "--require-otp"]), 1, /^fernlink: only an account admin may/);

      const made = await site.cli("alice", ["token", "add", "ci", "--role", "member", "--expires-days", "7"]);
      assertExit(made, 0);
      const token = /^api token: (flk_\S+)$/m.exec(made.stdout)?.[1];
      assert.ok(token, made.stdout);
      const list = JSON.parse(await site.ok("alice", ["token", "list", "--json"])) as { name: string; role: string; createdBy: string }[];
      assert.deepEqual(
        list.map((x) => [x.name, x.role, x.createdBy]),
        [["ci", "member", "alice"]],
      );
      const caPem = await readFile(site.ca, "utf8");
      const whoami = () =>
        requestJson({ server: site.url, path: "/api/v1/whoami", token, ca: caPem, response: z.object({ user: z.string(), role: z.string() }) });
      assert.deepEqual(await whoami(), { user: "alice", role: "member" });
      assert.equal(await site.ok("alice", ["token", "revoke", "ci"]), 'API token "ci" revoked\n');
      await assert.rejects(whoami(), { code: "unauthenticated" });

      assert.equal(await site.ok("alice", ["user", "remove", "carol"]), 'user "carol" removed\n');
      assertExit(await site.cli("carol-laptop", ["whoami"]), 1, /^fernlink: the session has expired or was ended/);
      assertExit(await site.cli("alice", ["user", "remove", "alice"]), 1, /^fernlink: you cannot remove yourself/);
      assert.deepEqual(
        (await users()).map((u) => u.name),
        ["alice", "bob"],
      );
    });

    test("ten failures from one source throttle it, throttled attempts lock nobody, and another source still logs in", async () => {
      assert.ok(failures < 10, `the earlier tests failed ${failures} times already`);
      while (failures < 10) await mustFailApi(`ghost-${failures}`);
      const throttled = await login("alice-2", "alice");
      assertExit(throttled, 1, /^fernlink: too many failed logins from 127\.0\.0\.1; try again in \d+ (minutes|seconds)$/);
      await addUser("dave");
      for (let i = 0; i < 6; i++) {
        const answer = await loginApi("dave", `wrong password ${i}`);
        assert.deepEqual([answer.status, answer.code], [429, "throttled"]);
      }
      assert.ok((await site.audit("alice")).some((r) => r.action === "login" && r.result === "denied" && /^too many failed logins/.test(r.reason ?? "")));
      // The same server on [::1]: requests now come from another source address.
      const port = site.port;
      await logins?.close();
      logins = undefined;
      await site.server.stop();
      await site.startServer(`[::1]:${port}`);
      assert.equal(site.url, `https://[::1]:${port}`);
      assertExit(await login("dave", "dave", { server: site.url }), 0);
      assertExit(await login("alice-2", "alice", { server: site.url }), 0);
    });
  });
}
