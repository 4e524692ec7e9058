import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { echoVia, rawStream, Site } from "./helpers/fernlink.js";
import { assertExit, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * `fernlink server backup` and `restore` through real processes on SQLite: a backup taken
 * while streams write audit records, the server stopped, the file restored into a new folder
 * and a server started on it at the same port: the running agent comes back by itself with
 * its certificate, forwards work, the user logs in, and the audit chain verifies. Then the
 * refusals: an existing backup file, a folder holding a store, a truncated or altered file.
 */

const ACME = { account: "acme", user: "alice" };
const READY = /^fernlink server ready: (https:\/\/\S+)$/;

let sb: Sandbox;
let site: Site;
let echo: Target;
let agent: Proc;
let backupFile: string;
let restored: string;

before(async () => {
  sb = await Sandbox.create("backup");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  agent = await site.startAgent(await site.register(await site.addDevice("alice", "press-7"), "agent-press-7"));
  backupFile = sb.path("backups", "fernlink.tar.gz");
  restored = sb.path("restored");
});

after(() => sb?.cleanup());

/** What the stream load did: streams opened in all, and while the backup ran. */
interface Load {
  stop: boolean;
  during: boolean;
  total: number;
  whileBackingUp: number;
}

/** Opens streams through the device, each writing audit records, until `load.stop`. */
async function streamLoad(load: Load): Promise<void> {
  while (!load.stop) {
    const r = await rawStream(site, "alice", "press-7", `127.0.0.1:${echo.port}`, "load\n");
    assert.equal(r.echoed, "load\n", `a stream of the load failed: ${r.status} ${r.error ?? ""}`);
    load.total++;
    if (load.during) load.whileBackingUp++;
  }
}

test("a backup taken under load restores into a new folder whose server the running agent reconnects to", { timeout: 90_000 }, async (t) => {
  const phase = { at: Date.now() };
  const took = (what: string): void => {
    t.diagnostic(`${what}: ${Date.now() - phase.at} ms`);
    phase.at = Date.now();
  };
  const load: Load = { stop: false, during: false, total: 0, whileBackingUp: 0 };
  const loading = streamLoad(load);
  await waitUntil("the load opened a stream", async () => (load.total > 0 ? true : undefined));
  load.during = true;
  const backup = await site.cli("server", ["server", "backup", "--data", site.dataDir, backupFile]);
  load.during = false;
  load.stop = true;
  await loading;
  took("backed up");
  assertExit(backup, 0);
  t.diagnostic(`streams opened during the backup: ${load.whileBackingUp} of ${load.total}`);
  assert.ok(load.whileBackingUp > 0, "no stream of the load ran while the backup was taken");
  assert.match(backup.stdout, /^backup written: .*fernlink\.tar\.gz \(sqlite, migration \d{4}_\w+; .*ca-key\.pem.*\)$/m);
  assert.equal((await stat(backupFile)).mode & 0o777, 0o600, "the backup holds private keys: owner only");

  const port = site.port;
  const stopped = await site.server.stop("SIGTERM");
  assert.equal(stopped.code, 0, `server did not stop cleanly\n${stopped.stderr}`);
  const mark = agent.stderr.length;
  took("server stopped");

  assertExit(await site.cli("server", ["server", "restore", "--data", restored, backupFile]), 0);
  for (const [name, mode] of [
    ["ca-key.pem", 0o600],
    ["audit-key", 0o600],
    ["secret-key", 0o600],
    ["fernlink.db", 0o600],
  ] as const) {
    assert.equal((await stat(`${restored}/${name}`)).mode & 0o777, mode, `${name} keeps its mode`);
  }
  assert.deepEqual(await readFile(`${restored}/ca-key.pem`), await readFile(`${site.dataDir}/ca-key.pem`), "the same CA key");

  took("restored");
  const server = sb.start(["server", "--data", restored, "--listen", `127.0.0.1:${port}`], { home: site.home("server") });
  await server.waitForLine(READY);
  took("server started");
  // The agent's backoff is capped at 30 s; a new tunnel in its log is the reconnection itself.
  await waitUntil("the agent logs a new tunnel", async () => (/ agent: tunnel up /.test(agent.stderr.slice(mark)) ? true : undefined), 40_000, 200);
  took("agent back");
  assert.equal(agent.running, true, "the same agent process, with its certificate, reconnected");
  await site.waitForDevice("alice", "press-7", true);
  took("device online");
  await site.login(ACME); // the account and its user came back
  const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  t.after(() => conn.proc.stop("SIGKILL")); // nothing to drain: its one connection is done
  assert.equal(await echoVia(conn, "after the restore\n"), "after the restore\n");
  took("logged in and forwarded");
  const verify = await site.cli("alice", ["audit", "verify"]);
  assertExit(verify, 0);
  took("audit verified");
});

test("a backup is never written over an existing file without --force", async () => {
  const before = await readFile(backupFile);
  const r = await site.cli("server", ["server", "backup", "--data", restored, backupFile]);
  assertExit(r, 1, /already exists; give another file name, or --force/);
  assert.deepEqual(await readFile(backupFile), before, "the earlier backup is untouched");
  assertExit(await site.cli("server", ["server", "backup", "--data", restored, "--force", backupFile]), 0);
});

test("restore refuses a folder that holds a store, and damaged files, writing nothing", async () => {
  const whole = await readFile(backupFile);
  const truncated = sb.path("backups", "truncated.tar.gz");
  await writeFile(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
  const altered = sb.path("backups", "altered.tar.gz");
  const flipped = Buffer.from(whole);
  const at = Math.floor(flipped.length * 0.6);
  flipped[at] = flipped[at]! ^ 0xff;
  await writeFile(altered, flipped);
  // Run at once: each is a CLI start of its own, and they share nothing.
  const [intoStore, ...damaged] = await Promise.all([
    site.cli("server", ["server", "restore", "--data", restored, backupFile]),
    site.cli("server", ["server", "restore", "--data", sb.path("from-truncated"), truncated]),
    site.cli("server", ["server", "restore", "--data", sb.path("from-altered"), altered]),
  ]);
  assertExit(intoStore!, 1, /--data ".*restored" holds a Fernlink store; restore into a new or empty folder/);
  for (const r of damaged) assertExit(r, 1, /is damaged or not a Fernlink backup/);
  const left = (await readdir(sb.dir)).filter((name) => name.startsWith("from-") || name.includes(".restore-"));
  assert.deepEqual(left, [], `a failed restore left ${left.join(", ")} behind`);
});
