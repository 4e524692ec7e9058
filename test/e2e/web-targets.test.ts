import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, Sandbox } from "./helpers/processes.js";

/**
 * Web targets through real processes: an admin publishes an HMI page and a VNC panel on a
 * device (the VNC password piped in), anyone who may see the device lists them, and the
 * password shows up nowhere — not in listings, the audit, the server's output or the
 * database file.
 */

const ACME = { account: "acme", user: "alice" };
const BOB = { account: "acme", user: "bob" };
const VNC_PASSWORD = "Vnc-Panel-Secret-913";

interface TargetJson {
  id: string;
  name: string;
  kind: string;
  url: string;
  hasPassword: boolean;
  open: string;
}

describe("web targets through real processes", () => {
  let sb: Sandbox;
  let site: Site;

  const web = (user: string, args: string[], input?: string) => site.cli(user, ["device", "web", "press-7", ...args], input === undefined ? {} : { input });
  const listJson = async (user: string): Promise<TargetJson[]> => JSON.parse(await site.ok(user, ["device", "web", "press-7", "--json"])) as TargetJson[];

  before(async () => {
    sb = await Sandbox.create("web-targets");
    site = await Site.start(sb, [ACME]);
    await site.login(ACME);
    await site.addDevice("alice", "press-7", ["192.168.1.0/24"]);
    await site.apiOk("alice", "POST", "/api/v1/users", { name: "bob", role: "member", password: PASSWORD });
    await site.login(BOB);
  });
  after(() => sb?.cleanup());

  test("an admin adds an HMI page and a VNC panel with its password from stdin, and lists them", async () => {
    const hmi = await web("alice", ["--add", "http://192.168.1.10:80/", "--name", "main-hmi"]);
    assertExit(hmi, 0);
    assert.equal(hmi.stdout, 'web target "main-hmi" added to "press-7": http://192.168.1.10/\n');
    const vnc = await web("alice", ["--add", "vnc://192.168.1.20", "--name", "panel", "--password-stdin"], `${VNC_PASSWORD}\n`);
    assertExit(vnc, 0);
    assert.equal(vnc.stdout, 'web target "panel" added to "press-7": vnc://192.168.1.20:5900 (password stored)\n');

    const targets = await listJson("alice");
    assert.deepEqual(
      targets.map((t) => [t.name, t.kind, t.url, t.hasPassword]),
      [
        ["main-hmi", "http", "http://192.168.1.10/", false],
        ["panel", "vnc", "vnc://192.168.1.20:5900", true],
      ],
    );
    for (const t of targets) {
      assert.match(t.id, /^[a-z2-7]{12}$/);
      assert.equal(t.open, t.kind === "vnc" ? `#/vnc/${t.id}` : `/web/open/${t.id}`);
    }
    const table = await site.ok("alice", ["device", "web", "press-7"]);
    assert.deepEqual(
      table
        .trimEnd()
        .split("\n")
        .map((l) => l.split(/\s{2,}/)),
      [
        ["NAME", "KIND", "URL", "PASSWORD"],
        ["main-hmi", "http", "http://192.168.1.10/", "no"],
        ["panel", "vnc", "vnc://192.168.1.20:5900", "yes"],
      ],
    );
  });

  test("a member without a rule that shows the device cannot list its targets; with view they can, but not add", async () => {
    assertExit(await web("bob", []), 1, /^fernlink: no such device "press-7"; see: fernlink device list$/);
    // The rule is set up through the REST API: web targets are under test here, not the access commands.
    await site.apiOk("alice", "POST", "/api/v1/groups", { name: "operators" });
    await site.apiOk("alice", "POST", "/api/v1/groups/operators/members", { add: ["bob"] });
    await site.apiOk("alice", "POST", "/api/v1/pools", { name: "line-3" });
    await site.apiOk("alice", "POST", "/api/v1/pools/line-3/devices", { add: ["press-7"] });
    await site.apiOk("alice", "POST", "/api/v1/access-rules", { group: "operators", pool: "line-3", level: "view" });
    assert.deepEqual(
      (await listJson("bob")).map((t) => t.name),
      ["main-hmi", "panel"],
    );
    assertExit(await web("bob", ["--add", "http://192.168.1.11/", "--name", "mine"]), 1, /^fernlink: only an account admin may do "web-target\.add"/);
    assertExit(await web("bob", ["--remove", "panel"]), 1, /^fernlink: only an account admin may do "web-target\.remove"/);
  });

  test("bad input is refused with one line and the usage status, before anything is sent", async () => {
    const cases: [string[], string | undefined, RegExp][] = [
      [
        ["--add", "ftp://192.168.1.10/", "--name", "x"],
        undefined,
        /^fernlink: web target URL "ftp:\/\/192\.168\.1\.10\/" uses "ftp:"; only http:\/\/, https:\/\/ and vnc:\/\/ targets can be published$/,
      ],
      [["--add", "192.168.1.10:80", "--name", "x"], undefined, /^fernlink: web target URL "192\.168\.1\.10:80" has no scheme/],
      [
        ["--add", `vnc://admin:${VNC_PASSWORD}@192.168.1.20`, "--name", "x"],
        undefined,
        /^fernlink: web target URL "vnc:\/\/\*\*\*@192\.168\.1\.20" has credentials in it; .*--password-stdin/,
      ],
      [["--add", "vnc://192.168.1.20:5900?x=1", "--name", "x"], undefined, /has a query or fragment/],
      [["--add", "http://[fd00::5:8080/", "--name", "x"], undefined, /unclosed '\['/],
      [
        ["--add", "https://hmi.local/", "--name", "x", "--password-stdin"],
        `${VNC_PASSWORD}\n`,
        /^fernlink: --password-stdin applies to vnc:\/\/ targets only$/,
      ],
      [["--add", "vnc://192.168.1.21", "--name", "x", "--password-stdin"], "\n", /^fernlink: --password-stdin read an empty password/],
      [["--add", "vnc://192.168.1.21"], undefined, /^fernlink: --add needs --name NAME/],
      [["--add", "vnc://192.168.1.21", "--name", " x"], undefined, /^fernlink: web target name " x": no white space/],
    ];
    for (const [args, input, message] of cases) {
      const r = await web("alice", args, input);
      const line = assertExit(r, 2, message);
      assert.ok(!line?.includes(VNC_PASSWORD), `the password is not echoed: ${line}`);
    }
    assertExit(await web("alice", ["--add", "https://hmi.local/", "--name", "panel"]), 1, /^fernlink: device "press-7" already has a web target "panel"/);
    assert.equal((await listJson("alice")).length, 2, "nothing was added");
  });

  test("the VNC password appears in no listing, no audit record, no server output and not in the database file", async () => {
    const listings = [
      await site.ok("alice", ["device", "web", "press-7"]),
      await site.ok("alice", ["device", "web", "press-7", "--json"]),
      await site.ok("bob", ["device", "web", "press-7", "--json"]),
    ];
    for (const out of listings) assert.ok(!out.includes(VNC_PASSWORD));

    const auditText = await site.ok("alice", ["audit", "--json", "--limit", "500"]);
    assert.ok(!auditText.includes(VNC_PASSWORD), "not in the audit");
    const audit = JSON.parse(auditText) as { actor: string | null; action: string; object: string | null; result: string; device: string | null }[];
    const added = audit.filter((r) => r.action === "web-target.add" && r.result === "ok").map((r) => [r.actor, r.object, r.device]);
    assert.deepEqual(added.sort(), [
      ["alice", "press-7/main-hmi: http://192.168.1.10/", "press-7"],
      ["alice", "press-7/panel: vnc://192.168.1.20:5900 with password", "press-7"],
    ]);
    assert.ok(
      audit.some((r) => r.action === "web-target.add" && r.actor === "bob" && r.result === "denied"),
      "the member's attempt is audited",
    );

    assert.ok(!site.server.stdout.includes(VNC_PASSWORD) && !site.server.stderr.includes(VNC_PASSWORD), "not in the server's output");
    for (const file of ["fernlink.db", "fernlink.db-wal"].map((f) => join(site.dataDir, f)).filter((f) => existsSync(f))) {
      assert.ok(!(await readFile(file)).includes(Buffer.from(VNC_PASSWORD)), `not in clear in ${file}`);
    }
    assert.equal((await stat(join(site.dataDir, "secret-key"))).mode & 0o777, 0o600, "the secret key is owner-only");
  });

  test("targets survive a restart of the server, and an admin removes them by name", async () => {
    const before = await listJson("alice");
    await site.restartServer();
    assert.deepEqual(await listJson("alice"), before, "targets and ids survive a restart");
    const removed = await web("alice", ["--remove", "panel"]);
    assertExit(removed, 0);
    assert.equal(removed.stdout, 'web target "panel" removed from "press-7"\n');
    assertExit(await web("alice", ["--remove", "panel"]), 1, /^fernlink: device "press-7" has no web target "panel"; see: fernlink device web press-7$/);
    assert.deepEqual(
      (await listJson("alice")).map((t) => t.name),
      ["main-hmi"],
    );
    assertExit(await site.cli("alice", ["device", "remove", "press-7"]), 0);
    assertExit(await site.cli("alice", ["device", "web", "press-7"]), 1, /^fernlink: no such device "press-7"/);
  });
});
