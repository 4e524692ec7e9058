import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type AuditJson, Site } from "./helpers/fernlink.js";
import { assertExit, Sandbox, waitUntil } from "./helpers/processes.js";
import { closedPort, startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Every failure a user meets on the way: exit status 1 (or 2 for usage) and one
 * `fernlink: ` line that says what happened.
 */

const ACME = { account: "acme", user: "alice" };
const OTHER = { account: "other", user: "bob" };

let sb: Sandbox;
let site: Site;
let echo: Target;
/** Allowed by press-7's agent, but nothing listens there. */
let closed: number;
let key7: string;

before(async () => {
  sb = await Sandbox.create("errors");
  echo = await startEchoServer();
  sb.defer(echo.close);
  closed = await closedPort();
  site = await Site.start(sb, [ACME, OTHER]);
  await Promise.all([site.login(ACME), site.login(OTHER)]);
  const [k7, k8] = await Promise.all([site.addDevice("alice", "press-7"), site.addDevice("alice", "press-8"), site.addDevice("bob", "mill-3")]);
  key7 = k7;
  const [state7, state8] = await Promise.all([site.register(k7, "agent-press-7"), site.register(k8, "agent-press-8")]);
  // press-7 may reach the echo server and the closed port, nothing else.
  await site.startAgent(state7, [`127.0.0.1:${echo.port},${closed}`]);
  // press-8 was online once and is not any more.
  await (await site.startAgent(state8)).stop("SIGTERM");
  await site.waitForDevice("alice", "press-8", false);
});

after(() => sb?.cleanup());

/** The audit record of a refused stream to `target` (written asynchronously by the relay). */
function refusal(target: string): Promise<AuditJson> {
  return waitUntil(`the refused stream to ${target} is audited`, async () =>
    (await site.audit("alice")).find((r) => r.action === "stream" && r.target === target && r.result !== "ok"),
  );
}

test("--stdio to an allowed target carries stdin there and the answer to stdout", async () => {
  const r = await site.cli("alice", ["connect", "press-7", "--stdio", `127.0.0.1:${echo.port}`], { input: "hello press-7\n" });
  assertExit(r, 0);
  assert.equal(r.stdout, "hello press-7\n");
});

test("a wrong password fails the login, and an unknown user or account gets the very same message", async () => {
  const attempt = (account: string, user: string, password: string) =>
    site.cli("mallory", ["login", "--server", site.url, "--ca", site.ca, "--account", account, "--user", user], { env: { FERNLINK_PASSWORD: password } });
  const [wrongPassword, unknownUser, unknownAccount] = await Promise.all([
    attempt("acme", "alice", "not the password at all"),
    attempt("acme", "nobody", "not the password at all"),
    attempt("nowhere", "alice", "not the password at all"),
  ]);
  const message = assertExit(wrongPassword, 1, /^fernlink: login failed\b/);
  assert.equal(assertExit(unknownUser, 1), message, "unknown user reads like a wrong password");
  assert.equal(assertExit(unknownAccount, 1), message, "unknown account reads like a wrong password");
  assert.equal(existsSync(join(site.home("mallory"), "session.json")), false, "no session is saved");
});

test("an activation key that was already used is refused on a second register", async () => {
  const r = await site.cli("agent", ["agent", "register", "--server", site.url, "--ca", site.ca, "--key", key7, "--state", sb.path("again")]);
  assertExit(r, 1, /^fernlink: the activation key was already used\b/);
});

test("an unknown activation key is refused", async () => {
  const r = await site.cli("agent", [
    "agent",
    "register",
    "--server",
    site.url,
    "--ca",
    site.ca,
    "--key",
    "ABCDE-FGHJK-MNPQR-STVWX-YZ012",
    "--state",
    sb.path("unknown"),
  ]);
  assertExit(r, 1, /^fernlink: the activation key is not valid\b/);
});

test("connect to a device whose agent is not running says it is offline and when it was last seen", async () => {
  const r = await site.cli("alice", ["connect", "press-8", "--stdio", `127.0.0.1:${echo.port}`], { input: "" });
  assertExit(r, 1, /^fernlink: device "press-8" is offline \(last seen \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$/);
});

test("a device of another account reads as no such device", async () => {
  const r = await site.cli("alice", ["connect", "mill-3", "--stdio", `127.0.0.1:${echo.port}`], { input: "" });
  assertExit(r, 1, /^fernlink: no such device "mill-3"/);
});

test("a target the agent does not allow is refused as not allowed", async () => {
  const [otherHost, otherPort] = await Promise.all([
    site.cli("alice", ["connect", "press-7", "--stdio", `127.0.0.2:${echo.port}`], { input: "" }),
    site.cli("alice", ["connect", "press-7", "--stdio", `127.0.0.1:${site.port}`], { input: "" }),
  ]);
  assertExit(otherHost, 1, new RegExp(`^fernlink: target 127\\.0\\.0\\.2:${echo.port} is not allowed by the agent of "press-7"`));
  assertExit(otherPort, 1, new RegExp(`^fernlink: target 127\\.0\\.0\\.1:${site.port} is not allowed`));
  const record = await refusal(`127.0.0.2:${echo.port}`);
  assert.deepEqual([record.actor, record.device, record.result], ["alice", "press-7", "denied"]);
  assert.match(record.reason ?? "", /not allowed/);
});

test("a target that refuses the connection is reported as refused", async () => {
  const r = await site.cli("alice", ["connect", "press-7", "--stdio", `127.0.0.1:${closed}`], { input: "" });
  assertExit(r, 1, new RegExp(`^fernlink: target 127\\.0\\.0\\.1:${closed} refused the connection`));
  const record = await refusal(`127.0.0.1:${closed}`);
  assert.deepEqual([record.actor, record.device, record.result], ["alice", "press-7", "error"]);
  assert.match(record.reason ?? "", /refused/);
});

test("a server nobody listens on is reported as cannot reach", async () => {
  const url = `https://127.0.0.1:${await closedPort()}`;
  const r = await site.cli("carol", ["login", "--server", url, "--ca", site.ca, "--account", "acme", "--user", "alice"]);
  assertExit(r, 1, new RegExp(`^fernlink: cannot reach ${url.replace(/\./g, "\\.")}\\b`));
});

test("a server certificate from an unknown CA is reported as not trusted when --ca is missing", async () => {
  const r = await site.cli("carol", ["login", "--server", site.url, "--account", "acme", "--user", "alice"]);
  assertExit(r, 1, /^fernlink: the certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted .*--ca/);
});

describe("malformed command lines exit with status 2 and one fernlink: line, before doing anything", { concurrency: true }, () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      "a --forward without the target port is a usage error",
      () => ["connect", "press-7", "--forward", "5020:127.0.0.1"],
      /^fernlink: forward "5020:127\.0\.0\.1" is not \[LHOST:\]LPORT:THOST:TPORT/,
    ],
    ["connect without --forward, --socks or --stdio is a usage error", () => ["connect", "press-7"], /^fernlink: say what to open/],
    [
      "a plain http:// server URL is a usage error",
      () => ["login", "--server", "http://127.0.0.1:1", "--account", "acme", "--user", "alice"],
      /^fernlink: --server "http:\/\/127\.0\.0\.1:1" must start with https:\/\//,
    ],
    ["an unknown option of the program is a usage error", () => ["--bogus"], /^fernlink: unknown option '--bogus'/],
    ["an unknown option of a subcommand is a usage error", () => ["device", "list", "--bogus"], /^fernlink: unknown option '--bogus'/],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      assertExit(await site.cli("alice", args(), { input: "" }), 2, message);
    });
  }
});
