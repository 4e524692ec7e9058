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
    for (const [name, role] of [
      ["bob", "admin"],
      ["carol", "member"],
    ]) {
      assertExit(await site.cli("alice", ["user", "add", name!, "--role", role!], { env: { FERNLINK_NEW_PASSWORD: PASSWORD } }), 0);
    }
  });

  after(() => sb?.cleanup());

  test("a locked user's live stream is cut and the login refused with the reason; unlock lets the user in again", async () => {
    assertExit(await loginAs("bob", "bob"), 0);
    const stream = await echoingStream("bob");
    assert.match(await site.ok("alice", ["user", "lock", "bob"]), /^user "bob" locked/);
    await Promise.race([stream.closed, sleep(GIVE_UP_MS).then(() => assert.fail(`bob's stream was still open ${GIVE_UP_MS} ms after the lock`))]);
    await stream.conn.proc.stop();
    assertExit(await site.cli("bob", ["whoami"]), 1, /session has expired or was ended/);
    assertExit(await loginAs("bob", "bob"), 1, /^fernlink: user "bob" is locked by an admin of the account; ask an admin to run: fernlink user unlock bob$/);
    assert.match(await site.ok("alice", ["user", "list"]), /^bob\s+admin\s+by an admin\s/m);
    assertExit(await site.cli("alice", ["user", "lock", "alice"]), 1, /not on yourself/);

    assert.match(await site.ok("alice", ["user", "unlock", "bob"]), /^user "bob" unlocked$/m);
    assertExit(await loginAs("bob", "bob"), 0);
    const again = await echoingStream("bob");
    again.socket.destroy();
    await again.conn.proc.stop();
    const records = (await audit()).filter((r) => r.object === "bob" && ["user.lock", "user.unlock"].includes(r.action));
    assert.deepEqual(records.map((r) => [r.action, r.actor, r.result]).sort(), [
      ["user.lock", "alice", "ok"],
      ["user.unlock", "alice", "ok"],
    ]);
  });

  test("session list shows each session's user, source and kind; an ended session's next command says it ended", async () => {
    assertExit(await loginAs("carol-desk", "carol"), 0);
    assertExit(await loginAs("carol-laptop", "carol"), 0);
    const desk = (await sessions("carol-desk")).find((s) => s.current);
    assert.ok(desk, "carol sees her own session marked current");
    assert.ok(
      (await sessions("carol-desk")).every((s) => s.user === "carol"),
      "a member sees only her own sessions",
    );
    const all = await sessions("alice");
    const carols = all.filter((s) => s.user === "carol");
    assert.equal(carols.length, 2);
    assert.deepEqual(
      carols.map((s) => [s.kind, s.source]),
      [
        ["cli", "127.0.0.1"],
        ["cli", "127.0.0.1"],
      ],
    );
    assert.match(await site.ok("alice", ["session", "list"]), /^ID\s+USER\s+SOURCE\s+STARTED\s+LAST SEEN\s+KIND$/m);

    assert.equal(await site.ok("alice", ["session", "end", desk.id]), `session ${desk.id} ended\n`);
    assertExit(await site.cli("carol-desk", ["device", "list"]), 1, /^fernlink: the session has expired or was ended; run: fernlink login$/);
    await site.ok("carol-laptop", ["device", "list"]);
    assertExit(await site.cli("carol-laptop", ["session", "end", (await sessions("alice")).find((s) => s.user === "alice")!.id]), 1, /no such session/);
    assertExit(await site.cli("alice", ["session", "end", "not an id!"]), 2, /is not an id/);
  });

  test("a reset password lets the user in only to change it, with the command that does", async () => {
    const reset = await site.cli("alice", ["user", "reset-password", "carol"], { env: { FERNLINK_NEW_PASSWORD: ONE_TIME } });
    assertExit(reset, 0);
    assert.match(reset.stdout, /must change it at the next login/);
    assertExit(await site.cli("carol-laptop", ["device", "list"]), 1, /session has expired or was ended/);
    const login = await loginAs("carol", "carol", ONE_TIME);
    assertExit(login, 0);
    assert.match(login.stderr, /you must change your password: fernlink user passwd/);
    assertExit(await site.cli("carol", ["device", "list"]), 1, /^fernlink: you must change your password: fernlink user passwd$/);
    const changed = await site.cli("carol", ["user", "passwd"], { env: { FERNLINK_PASSWORD: ONE_TIME, FERNLINK_NEW_PASSWORD: PASSWORD } });
    assertExit(changed, 0);
    await site.ok("carol", ["device", "list"]);
  });

  test("reset-otp removes a user's one-time codes, so the password alone signs in again", async () => {
    assert.match(await site.ok("carol", ["otp", "enable"]), /^secret: \S+$/m);
    assertExit(await loginAs("carol", "carol"), 1, /one-time code/);
    assert.match(await site.ok("alice", ["user", "reset-otp", "carol"]), /one-time codes of "carol" removed/);
    assertExit(await loginAs("carol", "carol"), 0);
  });

  test("a role changes both ways, and the account's last admin stays admin", async () => {
    assertExit(await site.cli("carol", ["user", "list"]), 1, /only an account admin/);
    assert.equal(await site.ok("alice", ["user", "role", "carol", "admin"]), 'user "carol" is now admin\n');
    await site.ok("carol", ["user", "list"]);
    await site.ok("alice", ["user", "role", "carol", "member"]);
    await site.ok("alice", ["user", "role", "bob", "member"]);
    assertExit(await site.cli("alice", ["user", "role", "alice", "member"]), 1, /last admin/);
    assertExit(await site.cli("alice", ["user", "role", "bob", "boss"]), 2, /must be admin or member/);
    const roles = (await audit()).filter((r) => r.action === "user.role").map((r) => [r.object, r.result]);
    assert.deepEqual(roles.sort(), [
      ["alice", "denied"],
      ["bob", "ok"],
      ["carol", "ok"],
      ["carol", "ok"],
    ]);
  });
});
