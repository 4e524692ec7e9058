import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { type AuditJson, type DeviceJson, Site } from "./helpers/fernlink.js";
import { assertExit, PASSWORD, Sandbox } from "./helpers/processes.js";
import { fernlinkOnPath, runShell } from "./helpers/shell.js";

/** What a newcomer meets in the first commands: the lines printed are the ones to paste. */

const ACME = { account: "acme", user: "alice" };

let sb: Sandbox;
let site: Site;
let bin: string;

before(async () => {
  sb = await Sandbox.create("first-steps");
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  bin = await fernlinkOnPath(sb);
});

after(() => sb?.cleanup());

test("device add prints the exact register command, which registers the agent when pasted, with the key kept out of argv", async () => {
  const added = await site.cli("alice", ["device", "add", "press-4", "--lan", "127.0.0.0/8"]);
  assertExit(added, 0);
  const command = added.stderr
    .split("\n")
    .map((line) => line.trim())
    .find((line) => line.startsWith("FERNLINK_ACTIVATION_KEY="));
  assert.ok(command, added.stderr);
  assert.doesNotMatch(command, /--key|\bURL\b|\bDIR\b/);
  assert.ok(command.includes(`--server ${site.url}`), command);
  // The CA named is the client's own copy of the server's (login keeps one beside the session).
  const caPath = /--ca (\S+)/.exec(command)?.[1];
  assert.ok(caPath, command);
  assert.equal(await readFile(caPath, "utf8"), await readFile(site.ca, "utf8"), command);
  const registered = await runShell(command, { cwd: sb.dir, bin, home: site.home("agent") });
  assert.equal(registered.code, 0, registered.stderr);
  await site.startAgent(sb.path("agent-state"));
  await site.waitForDevice("alice", "press-4", true);
});

test("a malformed --lan range is a usage error naming the range, and nothing is added", async () => {
  assertExit(await site.cli("alice", ["device", "add", "press-5", "--lan", "192.168.1.0/33"]), 2, /192\.168\.1\.0\/33.*repeat --lan/);
  assert.equal(
    (await site.devices("alice")).find((d) => d.name === "press-5"),
    undefined,
  );
});

test("a --lan range with host bits set is stored as its network, with a warning", async () => {
  assertExit(await site.cli("alice", ["device", "add", "press-6", "--lan", "192.168.1.10/24"]), 0, /warning: .*192\.168\.1\.0\/24/);
  assert.deepEqual((await site.devices("alice")).find((d) => d.name === "press-6")?.lan, ["192.168.1.0/24"]);
});

test("a device added without --lan gets a warning that says how to give ranges", async () => {
  assertExit(await site.cli("alice", ["device", "add", "press-8"]), 0, /warning: device "press-8" has no --lan range.*repeat --lan/);
});

test("bare fernlink and a bare command group print their help on stdout and exit 0", async () => {
  for (const args of [[], ["device"]]) {
    const r = await sb.run(args, { home: site.home("nobody") });
    assertExit(r, 0);
    assert.match(r.stdout, /^Usage: fernlink/, args.join(" "));
    assert.equal(r.stderr, "");
  }
});

test("device names compare regardless of case, lists sort press-7 before press-10, and the JSON carries id and state", async () => {
  for (const name of ["line-10", "line-7"]) await site.addDevice("alice", name);
  assertExit(await site.cli("alice", ["device", "add", "LINE-7"]), 1, /already exists/);
  const shown = JSON.parse(await site.ok("alice", ["device", "show", "Line-7", "--json"])) as DeviceJson;
  assert.equal(shown.name, "line-7");
  assert.equal(shown.state, "not-registered");
  const listed = await site.devices("alice");
  const names = listed.map((d) => d.name).filter((n) => n.startsWith("line-"));
  assert.deepEqual(names, ["line-7", "line-10"]);
  assert.equal(listed.find((d) => d.name === "line-7")?.id, shown.id);
  assert.equal(listed.find((d) => d.name === "press-4")?.state, "online");
});

test("a member whom no access rule grants a device is told so, and which admins to ask", async () => {
  assertExit(await site.cli("alice", ["user", "add", "bob", "--role", "member"], { env: { FERNLINK_NEW_PASSWORD: PASSWORD } }), 0);
  await site.login({ account: "acme", user: "bob" });
  const hint = /no access rule grants you a device of account "acme"; ask one of its admins \(alice\)/;
  const listed = await site.cli("bob", ["device", "list"]);
  assertExit(listed, 0, hint);
  assertExit(await site.cli("bob", ["device", "show", "press-4"]), 1, hint);
  assertExit(await site.cli("bob", ["device", "show", "no-such-press"]), 1, hint);
  assertExit(await site.cli("bob", ["connect", "press-4", "--forward", "0:127.0.0.1:502"]), 1, hint);
  assertExit(await site.cli("alice", ["device", "show", "no-such-press"]), 1, /no such device "no-such-press"; see: fernlink device list/);
});

test("a refused activation with a key that never existed is in the system chain, which the operator reads with audit --system", async () => {
  const refused = await site.cli("agent", ["agent", "register", "--server", site.url, "--ca", site.ca, "--state", sb.path("stray-agent")], {
    env: { FERNLINK_ACTIVATION_KEY: "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE" },
  });
  assertExit(refused, 1, /activation key is not valid/);
  const system = JSON.parse(await site.ok("alice", ["audit", "--system", "--data", site.dataDir, "--json"])) as AuditJson[];
  assert.ok(
    system.some((r) => r.action === "device.register" && r.result === "denied" && r.reason === "activation-key-invalid"),
    JSON.stringify(system),
  );
  assertExit(await site.cli("alice", ["audit", "--system"]), 2, /--data DIR/);
});

test("a filtered audit listing says that its SEQ gaps are records left out, not deleted ones", async () => {
  await site.addDevice("alice", "gap-1");
  await site.register(await site.addDevice("alice", "gap-2"), "gap-2-state");
  await site.addDevice("alice", "gap-3");
  assertExit(
    await site.cli("alice", ["audit", "--user", "alice", "--limit", "2"]),
    0,
    /gaps above are records this listing's filters leave out, not deleted ones/,
  );
  assertExit(await site.cli("alice", ["audit", "--limit", "5"]), 0);
});

test("server --init-account while the same data folder's server runs creates the account, which that server then serves", async () => {
  const listen = ["--listen", `127.0.0.1:${site.port}`];
  const init = await sb.run(["server", "--data", site.dataDir, ...listen, "--init-account", "beta", "--init-user", "bea"], { home: site.home("server") });
  assertExit(init, 0);
  assert.match(init.stdout, new RegExp(`^account "beta" is ready: the server of .* already runs at ${site.url.replace(/\./g, "\\.")} and serves it`, "m"));
  await site.login({ account: "beta", user: "bea" });
  const again = await sb.run(["server", "--data", site.dataDir, ...listen], { home: site.home("server") });
  assertExit(again, 1, /already runs at .*stop it \(Ctrl-C\) before starting it again/);
  const other = await sb.run(["server", "--data", sb.path("other-data"), ...listen], { home: site.home("server") });
  assertExit(other, 1, /is in use by another program; .*--listen HOST:PORT/);
});
