import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BACKENDS, dropSchema, siteOptions } from "./helpers/database.js";
import { Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, Sandbox } from "./helpers/processes.js";

/**
 * What an API token may not do, through real processes on SQLite and PostgreSQL: an
 * expiring admin token (as a CI job holds it) cannot mint a token or add a user, so nothing
 * it makes outlives or outranks it; everything done with a token names the token (never its
 * secret) in the audit, in `fernlink audit --json`, `--csv` and the table, and the chain still verifies.
 */

const ACME = { account: "acme", user: "alice" };

for (const backend of BACKENDS) {
  describe(`the limits of API tokens on ${backend}`, () => {
    const schema = `fernlink_e2e_tokens_${randomBytes(5).toString("hex")}`;
    let sb: Sandbox;
    let site: Site;
    let secret: string;

    before(async () => {
      sb = await Sandbox.create(`tokens-${backend.toLowerCase()}`);
      if (backend === "PostgreSQL") sb.defer(() => dropSchema(schema));
      site = await Site.start(sb, [ACME], siteOptions(backend, schema));
      await site.login(ACME);
      const made = await site.ok("alice", ["token", "add", "ci-deploy", "--role", "admin", "--expires-days", "7"]);
      secret = /^api token: (flk_\S+)$/m.exec(made)?.[1] ?? assert.fail(made);
      // The CI job's FERNLINK_HOME holds the token where a session would be.
      await mkdir(site.home("ci"), { recursive: true, mode: 0o700 });
      const session = {
        server: site.url,
        ca: site.ca,
        account: "acme",
        user: "alice",
        token: secret,
        expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      };
      await writeFile(join(site.home("ci"), "session.json"), JSON.stringify(session), { mode: 0o600 });
    });

    after(() => sb?.cleanup());

    test("an expiring admin token cannot mint a never-expiring admin token, nor any token", async () => {
      assertExit(
        await site.cli("ci", ["token", "add", "forever", "--role", "admin"]),
        1,
        /^fernlink: an API token cannot make API tokens \(token "ci-deploy"\); an admin signs in and runs: fernlink token add forever$/,
      );
      assertExit(
        await site.cli("ci", ["token", "add", "short", "--role", "member", "--expires-days", "1"]),
        1,
        /^fernlink: an API token cannot make API tokens/,
      );
      const tokens = JSON.parse(await site.ok("alice", ["token", "list", "--json"])) as { name: string }[];
      assert.deepEqual(
        tokens.map((t) => t.name),
        ["ci-deploy"],
      );
    });

    test("an expiring admin token cannot add an admin user, nor any user", async () => {
      const env = { FERNLINK_NEW_PASSWORD: PASSWORD };
      assertExit(
        await site.cli("ci", ["user", "add", "mallory", "--role", "admin"], { env }),
        1,
        /^fernlink: an API token cannot add users \(token "ci-deploy"\); an admin signs in and runs: fernlink user add mallory$/,
      );
      assertExit(await site.cli("ci", ["user", "add", "mallet", "--role", "member"], { env }), 1, /^fernlink: an API token cannot add users/);
      const users = JSON.parse(await site.ok("alice", ["user", "list", "--json"])) as { name: string }[];
      assert.deepEqual(
        users.map((u) => u.name),
        ["alice"],
      );
    });

    test("what a token did, and what it was refused, names the token in the audit and its listings, never its secret", async () => {
      assertExit(await site.cli("ci", ["device", "add", "press-9", "--lan", "10.9.0.0/24"]), 0);
      const records = await site.audit("alice", 100);
      const added = records.find((r) => r.action === "device.add" && r.result === "ok");
      assert.equal(added?.actor, "alice", "the token acts for alice");
      assert.equal(added?.token, "ci-deploy", "the device was added with the token");
      const refused = records
        .filter((r) => r.result === "denied" && r.token === "ci-deploy")
        .map((r) => r.action)
        .sort();
      assert.deepEqual(refused, ["token.add", "token.add", "user.add", "user.add"]);
      const own = records.find((r) => r.action === "token.add" && r.result === "ok");
      assert.equal(own?.token, null, "alice made ci-deploy in her own session");

      const table = await site.ok("alice", ["audit", "--limit", "100"]);
      assert.match(table, /alice \(token ci-deploy\)\s+\S+\s+device\.add\s+press-9/);
      const csv = await site.ok("alice", ["audit", "--csv", "--limit", "100"]);
      const [header, ...lines] = csv.split("\r\n");
      assert.equal(header?.split(",").at(-1), "token");
      assert.ok(
        lines.some((l) => l.includes(",device.add,press-9,") && l.endsWith(",ci-deploy")),
        "the CSV names the token of device.add",
      );
      assert.equal((JSON.stringify(records) + table + csv).includes(secret), false, "the token's secret is nowhere in the audit");
      assert.match(await site.ok("alice", ["audit", "verify"]), /^audit chain of account "acme": OK/);
    });
  });
}
