import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, Sandbox } from "./helpers/processes.js";
import { totp } from "./helpers/totp.js";

/**
 * One-time code secrets at rest: the database holds them sealed with DATA/secret-key, never
 * in clear; logins with a code still work; and a secret stored in clear by an older version
 * is sealed when the server starts.
 */

const ACME = { account: "acme", user: "alice" };

describe("one-time code secrets at rest", () => {
  let sb: Sandbox;
  let site: Site;

  const stored = (user: string): string | null => {
    const db = new Database(join(site.dataDir, "fernlink.db"), { readonly: true });
    try {
      return (db.prepare("select totp_secret from users where name = ?").get(user) as { totp_secret: string | null }).totp_secret;
    } finally {
      db.close();
    }
  };
  const login = (user: string, otp?: string) =>
    site.cli(user, ["login", "--server", site.url, "--ca", site.ca, "--account", "acme", "--user", user, ...(otp ? ["--otp", otp] : [])], {
      env: { FERNLINK_PASSWORD: PASSWORD },
    });

  before(async () => {
    sb = await Sandbox.create("totp-at-rest");
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    for (const name of ["bob", "carl"]) {
      assertExit(await site.cli("alice", ["user", "add", name, "--role", "member"], { env: { FERNLINK_NEW_PASSWORD: PASSWORD } }), 0);
      assertExit(await login(name), 0);
    }
  });
  after(() => sb?.cleanup());

  test("after enrolling, the database holds no plaintext secret, and a login with a code works", async () => {
    const enabled = await site.ok("bob", ["otp", "enable"]);
    const secret = /^secret: ([A-Z2-7]+)$/m.exec(enabled)?.[1];
    assert.ok(secret, enabled);
    const column = stored("bob");
    console.log(`stored one-time code secret after enrolling: ${column === secret ? "the plaintext secret" : `sealed (${column?.slice(0, 3)}…)`}`);
    assert.ok(column !== null);
    assert.ok(!column.includes(secret), "the column does not hold the secret in clear");
    assert.match(column, /^v1:/);
    assertExit(await login("bob", totp(secret)), 0);
  });

  test("a secret an older version stored in clear is sealed when the server starts, and still works", async () => {
    const enabled = await site.ok("carl", ["otp", "enable"]);
    const secret = /^secret: ([A-Z2-7]+)$/m.exec(enabled)![1]!;
    const stopped = await site.server.stop("SIGTERM");
    assert.equal(stopped.code, 0);
    const db = new Database(join(site.dataDir, "fernlink.db"));
    try {
      db.prepare("update users set totp_secret = ? where name = 'carl'").run(secret);
    } finally {
      db.close();
    }
    await site.startServer(`127.0.0.1:${site.port}`);
    const column = stored("carl");
    assert.ok(column !== null && !column.includes(secret), `sealed on start, not ${column}`);
    assert.match(column, /^v1:/);
    // Starting again leaves the sealed value as it is.
    await site.restartServer();
    assert.equal(stored("carl"), column);
    assertExit(await login("carl", totp(secret)), 0);
  });
});
