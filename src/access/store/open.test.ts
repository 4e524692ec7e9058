import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Worker } from "node:worker_threads";
import { sql } from "kysely";
import { UsageError } from "../../protocol/errors.js";
import { openDatabase } from "./dialects.js";
import { DatabaseUnavailableError } from "./store.js";

const dir = await mkdtemp(join(tmpdir(), "fernlink-open-"));
after(() => rm(dir, { recursive: true, force: true }));

test("an unreachable PostgreSQL fails with one line that does not reveal the password", async () => {
  const url = "postgres://fern:s3cret-pw@127.0.0.1:1/test";
  await assert.rejects(openDatabase({ url, dataDir: dir }), (err: unknown) => {
    assert.ok(err instanceof DatabaseUnavailableError);
    assert.doesNotMatch(err.message, /s3cret-pw/);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
});

test("a URL with an unsupported scheme is rejected", async () => {
  await assert.rejects(openDatabase({ url: "mysql://root@localhost/fernlink", dataDir: dir }));
});

test("a schema name that is not a plain identifier is rejected", async () => {
  await assert.rejects(openDatabase({ url: 'postgres://localhost/test?schema=x";drop', dataDir: dir }));
});

test("a data directory whose path goes through a file is a usage error that says so", async () => {
  const file = join(dir, "not-a-directory");
  await writeFile(file, "");
  await assert.rejects(openDatabase({ dataDir: join(file, "data") }), (err: unknown) => err instanceof UsageError && /goes through a file/.test(err.message));
});

test("a file that is not a database fails as unavailable", async () => {
  const dataDir = join(dir, "garbage");
  await openDatabase({ dataDir }).then((s) => s.close());
  await writeFile(join(dataDir, "fernlink.db"), "this is not sqlite ".repeat(100));
  await assert.rejects(openDatabase({ dataDir }), DatabaseUnavailableError);
});

test("SQLite is opened in WAL mode with foreign keys enforced", async () => {
  const store = await openDatabase({ dataDir: join(dir, "pragmas") });
  try {
    assert.equal(store.dialect, "sqlite");
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
    assert.equal(mode.rows[0]?.journal_mode, "wal");
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(store.db);
    assert.equal(fk.rows[0]?.foreign_keys, 1);
  } finally {
    await store.close();
  }
});

/**
 * A CLI command's transaction that reads, then writes, while the server writes in between
 * (`operator account disable` beside a running server): a deferred `begin` fails its write at
 * once with "database is locked", busy_timeout or not, because its snapshot is stale. The
 * store's transactions take the write lock at their start, so the other writer waits instead.
 */
test("a SQLite transaction that reads and then writes is not refused when another process wrote in between", async () => {
  const dataDir = join(dir, "immediate");
  const store = await openDatabase({ dataDir });
  // Another connection on its own thread, as the server beside a CLI command is.
  const other = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const db = new (require("better-sqlite3"))(workerData);
     db.pragma("busy_timeout = 5000");
     parentPort.on("message", () => { db.prepare("insert into t (by) values ('other')").run(); parentPort.postMessage("wrote"); });`,
    { eval: true, workerData: join(dataDir, "fernlink.db") },
  );
  try {
    await sql`create table t (by text)`.execute(store.db);
    const otherWrote = new Promise((resolve) => other.once("message", resolve));
    await store.db.transaction().execute(async (trx) => {
      await sql`select count(*) from t`.execute(trx);
      other.postMessage("write");
      // Long enough for the other write to commit, were it not made to wait for ours.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sql`insert into t (by) values ('us')`.execute(trx);
    });
    await otherWrote;
    const rows = await sql<{ by: string }>`select by from t order by rowid`.execute(store.db);
    assert.deepEqual(
      rows.rows.map((r) => r.by),
      ["us", "other"],
    );
  } finally {
    await other.terminate();
    await store.close();
  }
});

test("several nodes opening one new PostgreSQL schema at once all succeed", async () => {
  const schema = `fernlink_open_race_${Date.now().toString(36)}`;
  const url = `${process.env["FERNLINK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test"}?schema=${schema}`;
  const stores = await Promise.all(Array.from({ length: 6 }, () => openDatabase({ url, dataDir: dir })));
  try {
    for (const store of stores) assert.equal((await sql<{ n: number }>`select 1 as n`.execute(store.db)).rows[0]?.n, 1);
  } finally {
    await sql.raw(`drop schema if exists ${schema} cascade`).execute(stores[0]!.db);
    await Promise.all(stores.map((s) => s.close()));
  }
});
