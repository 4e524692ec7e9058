import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { AuditRecord } from "../../src/protocol/api.js";
import type { SessionInfo } from "../../src/protocol/api-users.js";
import { type Connection, Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, Sandbox } from "./helpers/processes.js";
import { startEchoServer } from "./helpers/targets.js";

/**
 * An admin's controls, each end to end through real processes (one server on SQLite, one agent,
 * `fernlink connect` to a TCP echo target): lock cuts a live stream and refuses the login until
 * unlock; `session end` makes that session's next command say it ended; a reset password lets
 * the user in only to change it; reset-otp drops the one-time codes; a role changes, except the
 * account's last admin's.
 */

const ACME = { account: "acme", user: "alice" };
const ONE_TIME = "a one-time passphrase 42";
/** How long a cut stream may take to close on a loaded machine before the test gives up. */
const GIVE_UP_MS = 8_000;

describe("an admin locks, ends sessions, resets passwords and codes, and changes roles", () => {
  let sb: Sandbox;
  let site: Site;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;

  const loginAs = async (home: string, user: string, password = PASSWORD) =>
    site.cli(home, ["login", "--server", site.url, "--ca", site.ca, "--account", "acme", "--user", user], { env: { FERNLINK_PASSWORD: password } });

  /** A `connect --forward` to the echo target as `home`, with one socket through it that echoed once. */
  async function echoingStream(home: string): Promise<{ conn: Connection; socket: net.Socket; closed: Promise<unknown> }> {
    const conn = await site.connect(home, "press-7", [`127.0.0.1:${echo.port}`]);
    const socket = net.connect({ host: "127.0.0.1", port: conn.forwards[0]! });
    socket.on("error", () => {});
    socket.setEncoding("utf8");
    socket.write("ping\n");
    assert.deepEqual(await once(socket, "data"), ["ping\n"]);
    return { conn, socket, closed: once(socket, "close") };
  }

  const audit = async (): Promise<AuditRecord[]> => JSON.parse(await site.ok("alice", ["audit", "--json", "--limit", "100"])) as AuditRecord[];
  const sessions = async (home: string): Promise<SessionInfo[]> => JSON.parse(await site.ok(home, ["session", "list", "--json"])) as SessionInfo[];

  before(async () => {
    sb = await Sandbox.create("admin-controls");
    site = await Site.start(sb, [ACME]);
    echo = await startEchoServer();
    sb.defer(() => echo.close());
    await site.login(ACME);
    await site.startAgent(await site.register(await site.addDevice("alice", "press-7", ["127.0.0.0/8"]), "agent-state"));
    const added = await Promise.all(
      [
        ["bob", "admin"],
        ["carol", "member"],
      ].map(([name, role]) => site.cli("alice", ["user", "add", name!, "--role", role!], { env: { FERNLINK_NEW_PASSWORD: PASSWORD } })),
    );
    for (const r of added) assertExit(r, 0);
  });

  after(() => sb?.cleanup());

  test("a locked user's live stream is cut and the login refused with the reason; unlock lets the user in again", async () => {
    assertExit(await loginAs("bob", "bob"), 0);
    const stream = await echoingStream("bob");
    assert.match(await site.ok("alice", ["user", "lock", "bob"]), /^user "bob" locked/);
    await Promise.race([stream.closed, sleep(GIVE_UP_MS).then(() => assert.fail(`bob's stream was still open ${GIVE_UP_MS} ms after the lock`))]);
    const [whoami, login] = await Promise.all([site.cli("bob", ["whoami"]), loginAs("bob-again", "bob"), stream.conn.proc.stop()]);
    assertExit(whoami, 1, /session has expired or was ended/);
    assertExit(login, 1, /^fernlink: user "bob" is locked by an admin of the account; ask an admin to run: fernlink user unlock bob$/);
    assert.match(await site.ok("alice", ["user", "unlock", "bob"]), /^user "bob" unlocked$/m);
    assertExit(await loginAs("bob", "bob"), 0);
  });

  test("session end makes that session's next command say the session ended", async () => {
    assertExit(await loginAs("carol", "carol"), 0);
    const carols = (await sessions("alice")).filter((s) => s.user === "carol");
    assert.deepEqual(
      carols.map((s) => [s.kind, s.source, s.current]),
      [["cli", "127.0.0.1", false]],
    );
    assert.equal(await site.ok("alice", ["session", "end", carols[0]!.id]), `session ${carols[0]!.id} ended\n`);
    assertExit(await site.cli("carol", ["device", "list"]), 1, /^fernlink: the session has expired or was ended; run: fernlink login$/);
  });

  test("a reset password lets the user in only to change it, with the command that does", async () => {
    assertExit(await site.cli("alice", ["user", "reset-password", "carol"], { env: { FERNLINK_NEW_PASSWORD: ONE_TIME } }), 0);
    const login = await loginAs("carol", "carol", ONE_TIME);
    assertExit(login, 0);
    assert.match(login.stderr, /you must change your password: fernlink user passwd/);
    assertExit(await site.cli("carol", ["device", "list"]), 1, /^fernlink: you must change your password: fernlink user passwd$/);
    const changed = await site.cli("carol", ["user", "passwd"], { env: { FERNLINK_PASSWORD: ONE_TIME, FERNLINK_NEW_PASSWORD: PASSWORD } });
    assertExit(changed, 0);
    assert.match(changed.stdout, /^password changed/);
  });

  test("reset-otp removes a user's one-time codes, so the password alone signs in again", async () => {
    assert.match(await site.ok("carol", ["otp", "enable"]), /^secret: \S+$/m);
    assertExit(await loginAs("carol", "carol"), 1, /one-time code/);
    assert.match(await site.ok("alice", ["user", "reset-otp", "carol"]), /one-time codes of "carol" removed/);
    assertExit(await loginAs("carol", "carol"), 0);
  });

  test("a role changes both ways, the account's last admin stays admin, and each control is audited", async () => {
    await site.ok("alice", ["user", "role", "bob", "member"]);
    assertExit(await site.cli("alice", ["user", "role", "alice", "member"]), 1, /last admin/);
    assert.equal(await site.ok("alice", ["user", "role", "carol", "admin"]), 'user "carol" is now admin\n');
    const done = new Set((await audit()).filter((r) => r.actor === "alice" && r.result === "ok").map((r) => `${r.action} ${r.object}`));
    for (const record of ["user.lock bob", "user.unlock bob", "user.reset-password carol", "user.reset-otp carol", "user.role bob", "user.role carol"]) {
      assert.ok(done.has(record), `audited: ${record}`);
    }
    assert.ok(
      [...done].some((r) => r.startsWith("session.end ")),
      "audited: session.end",
    );
  });
});
