import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { rawStream, Site } from "./helpers/fernlink.js";
import { assertExit, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer } from "./helpers/targets.js";

/**
 * Accounts are tenants: bob of account "other" can neither see nor reach nor change
 * press-7 of account "acme", and neither account's audit shows the other's records.
 */

const ACME = { account: "acme", user: "alice" };
const OTHER = { account: "other", user: "bob" };

let sb: Sandbox;
let site: Site;
let echo: Awaited<ReturnType<typeof startEchoServer>>;

before(async () => {
  sb = await Sandbox.create("isolation");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME, OTHER]);
  await Promise.all([site.login(ACME), site.login(OTHER)]);
  const state = await site.register(await site.addDevice("alice", "press-7"), "agent-press-7");
  await site.startAgent(state);
});

after(() => sb?.cleanup());

test("a user of another account sees an empty device list", async () => {
  const [bobs, alices] = await Promise.all([site.devices("bob"), site.devices("alice")]);
  assert.deepEqual(bobs, []);
  assert.deepEqual(
    alices.map((d) => [d.name, d.online]),
    [["press-7", true]],
  );
});

test("device show of another account's device reads as no such device", async () => {
  const r = await site.cli("bob", ["device", "show", "press-7", "--json"]);
  assertExit(r, 1, /^fernlink: no such device "press-7"/);
  assert.equal(r.stdout, "");
});

test("connect to another account's device reads as no such device and reaches nothing", async () => {
  const before = echo.accepted();
  const r = await site.cli("bob", ["connect", "press-7", "--stdio", `127.0.0.1:${echo.port}`], { input: "hello\n" });
  assertExit(r, 1, /^fernlink: no such device "press-7"/);
  assert.equal(r.stdout, "");
  assert.equal(echo.accepted(), before, "the target saw no connection");
});

test("the relay itself refuses a stream to another account's device, asked for without the CLI", async () => {
  const before = echo.accepted();
  const bobs = await rawStream(site, "bob", "press-7", `127.0.0.1:${echo.port}`);
  assert.equal(bobs.status, 404);
  assert.equal(bobs.error, "not-found");
  assert.match(bobs.reason ?? "", /no such device "press-7"/);
  assert.equal(echo.accepted(), before, "the target saw no connection");
  // The same request with alice's token goes through: the refusal is about the account.
  const alices = await rawStream(site, "alice", "press-7", `127.0.0.1:${echo.port}`, "same request, right account\n");
  assert.equal(alices.status, 200);
  assert.equal(alices.echoed, "same request, right account\n");
});

test("a user of another account can neither remove nor re-key the device", async () => {
  const [remove, key] = await Promise.all([site.cli("bob", ["device", "remove", "press-7"]), site.cli("bob", ["device", "key", "press-7"])]);
  assertExit(remove, 1, /^fernlink: no such device "press-7"/);
  assertExit(key, 1, /^fernlink: no such device "press-7"/);
  assert.doesNotMatch(key.stdout, /activation key/);
  const d = (await site.devices("alice")).find((x) => x.name === "press-7");
  assert.equal(d?.online, true, "press-7 is still there and online");
});

test("each account's audit holds only its own records", async () => {
  // A record of each side that is certain to exist.
  await site.ok("bob", ["device", "add", "mill-3"]);
  const [acme, other] = await Promise.all([site.audit("alice", 1000), site.audit("bob", 1000)]);
  const mentions = (r: object, word: string): boolean => JSON.stringify(r).includes(word);

  assert.ok(acme.some((r) => r.action === "device.add" && mentions(r, "press-7")));
  assert.ok(acme.some((r) => r.action === "login" && r.actor === "alice"));
  const leakedToAcme = acme.filter((r) => r.actor === "bob" || mentions(r, "mill-3") || mentions(r, "other/"));
  assert.deepEqual(leakedToAcme, [], "acme's audit shows nothing of account other");

  assert.ok(other.some((r) => r.action === "device.add" && mentions(r, "mill-3")));
  assert.ok(other.some((r) => r.action === "login" && r.actor === "bob"));
  const leakedToOther = other.filter((r) => r.actor === "alice" || mentions(r, "acme/") || r.action === "tunnel.up");
  assert.deepEqual(leakedToOther, [], "other's audit shows nothing of account acme");
});

test("a refused attempt on another account's device is audited in the caller's own account, with who tried", async () => {
  // "Every stream is audited: who, device, target … or why it was denied" (PRODUCT.md).
  // The relay authenticated bob before it refused him, so the refusal belongs to his
  // account — and it must not show up in acme's.
  const target = `127.0.0.1:${echo.port}`;
  assert.equal((await rawStream(site, "bob", "press-7", target)).status, 404);
  const record = await waitUntil(
    "bob's refused stream shows up in account other's audit",
    async () => (await site.audit("bob", 1000)).find((r) => r.action === "stream" && r.target === target),
    3_000,
    500,
  ).catch((err: Error) => assert.fail(`${err.message}: the refused stream was written without account and actor`));
  assert.equal(record.actor, "bob");
  assert.equal(record.result, "denied");
  assert.match(record.reason ?? "", /not-found/);
  const acme = await site.audit("alice", 1000);
  assert.equal(acme.filter((r) => r.action === "stream" && r.result !== "ok").length, 0);
});
