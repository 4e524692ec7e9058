import assert from "node:assert/strict";
import { copyFile, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { generateCaPem } from "../../src/access/ca-store.js";
import { Site } from "./helpers/fernlink.js";
import { LoginClient } from "./helpers/login-client.js";
import { assertExit, PASSWORD, Sandbox } from "./helpers/processes.js";

/**
 * The client's session as a new user meets it, through real processes: logging in again reuses
 * the server, account, user and CA of the last login; the CA is copied into $FERNLINK_HOME so
 * the original file can move; a wrong CA file says what is wrong with it; `--ca` works on the
 * commands that use the session; `logout` when logged out is not an error.
 */

const ACME = { account: "acme", user: "alice" };

describe("client login and CA handling", () => {
  let sb: Sandbox;
  let site: Site;

  before(async () => {
    sb = await Sandbox.create("client-login");
    site = await Site.start(sb, [ACME]);
  });
  after(() => sb.cleanup());

  test("logout when logged out exits 0 with one line", async () => {
    const r = await site.cli("nobody", ["logout"]);
    assertExit(r, 0);
    assert.equal(r.stdout, "not logged in; nothing to do\n");
  });

  test("the not-logged-in hint names --ca, and login without an earlier one is a usage error naming what is missing", async () => {
    assertExit(await site.cli("nobody", ["whoami"]), 1, /not logged in; run: fernlink login --server URL \[--ca FILE\] --account NAME --user NAME/);
    assertExit(
      await site.cli("nobody", ["login"]),
      2,
      /no earlier login to reuse for --server, --account, --user; run: fernlink login --server URL \[--ca FILE\]/,
    );
  });

  test("login again without flags reuses the saved server, account, user and CA, after the CA file moved", async () => {
    const moving = sb.path("moving-ca.pem");
    await copyFile(site.ca, moving);
    await site.ok("bob", ["login", "--server", site.url, "--ca", moving, "--account", ACME.account, "--user", ACME.user]);
    await rm(moving);
    const home = site.home("bob");
    assert.equal((await stat(join(home, "ca.pem"))).mode & 0o777, 0o600);
    assert.match(await site.ok("bob", ["whoami"]), /^alice@acme \(admin\)/);
    // The server ends the session; the next command says to log in, and plain `login` does it.
    await site.ok("bob", ["logout"]);
    await writeFile(
      join(home, "session.json"),
      JSON.stringify({ server: site.url, ca: "ca.pem", account: ACME.account, user: ACME.user, token: "expired", expiresAt: new Date().toISOString() }),
    );
    assertExit(await site.cli("bob", ["whoami"]), 1, /run: fernlink login/);
    const again = await site.ok("bob", ["login"]);
    assert.match(again, new RegExp(`^logged in to ${site.url} as alice@acme`));
    await site.ok("bob", ["device", "list"]);
  });

  test("a key file given as CA is named as such, and a CA that did not sign the server says so", async () => {
    const key = join(site.dataDir, "ca-key.pem");
    const args = ["login", "--server", site.url, "--account", ACME.account, "--user", ACME.user];
    assertExit(await site.cli("carol", [...args, "--ca", key]), 1, /CA file ".*ca-key\.pem" is not a PEM certificate \(it holds a private key\)/);
    const other = sb.path("other-ca.pem");
    await writeFile(other, (await generateCaPem(new Date())).certPem);
    assertExit(
      await site.cli("carol", [...args, "--ca", other]),
      1,
      /the certificate of https:\/\/127\.0\.0\.1:\d+ was issued by .*, not by the CA given .*\(\w+\): .*pass this server's own ca\.pem/,
    );
    assertExit(await site.cli("carol", [...args]), 1, /is not trusted .*pass the server's CA with --ca FILE/);
  });

  test("--ca on device list and connect overrides the saved CA", async () => {
    await site.login(ACME);
    const other = sb.path("other-ca-2.pem");
    await writeFile(other, (await generateCaPem(new Date())).certPem);
    assertExit(await site.cli(ACME.user, ["device", "list", "--ca", other]), 1, /not by the CA given/);
    await site.ok(ACME.user, ["device", "list", "--ca", site.ca]);
    assertExit(await site.cli(ACME.user, ["connect", "nowhere", "--forward", "0:127.0.0.1:1", "--ca", other]), 1, /not by the CA given/);
    assert.ok((await readFile(join(site.home(ACME.user), "ca.pem"), "utf8")).includes("BEGIN CERTIFICATE"));
  });

  // Last: it throttles this site's loopback source for the tests after it.
  test("an operator lists a source throttled after ten failed logins and lifts the throttle", async () => {
    const args = ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user];
    // Ten people behind one NAT mistype their user names; then alice, with the right password, is refused too.
    // The CLI's refusal is checked once; the other nine go to POST /api/v1/login from the same source.
    assertExit(await site.cli("dave", ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", "alcie-0"]), 1, /login failed/);
    const logins = await LoginClient.open(site, "127.0.0.1");
    try {
      for (let i = 1; i < 10; i++) {
        const answer = await logins.login({ account: ACME.account, user: `alcie-${i}`, password: PASSWORD });
        assert.deepEqual([answer.status, answer.code], [401, "login-failed"]);
      }
    } finally {
      await logins.close();
    }
    assertExit(await site.cli("dave", args), 1, /too many failed logins from 127\.0\.0\.1/);
    const data = ["--data", site.dataDir];
    const listed = JSON.parse(await site.ok("operator", ["login-throttle", "list", "--json", ...data])) as {
      source: string;
      failures: number;
      throttled: boolean;
    }[];
    assert.deepEqual(
      listed.map((r) => [r.source, r.failures, r.throttled]),
      [["127.0.0.1", 10, true]],
    );
    assert.match(await site.ok("operator", ["login-throttle", "clear", "127.0.0.1", ...data]), /^cleared 10 failed login\(s\) of 127\.0\.0\.1/);
    await site.ok("dave", args);
    const system = JSON.parse(await site.ok("operator", ["audit", "--system", "--json", ...data])) as { action: string; object: string; actor: string }[];
    const cleared = system.find((r) => r.action === "login-throttle.clear");
    assert.equal(cleared?.object, "127.0.0.1", JSON.stringify(system));
    assert.match(cleared.actor, /\(operator\)$/);
  });
});
