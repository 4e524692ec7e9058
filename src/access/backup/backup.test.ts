import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { create } from "tar";
import { countAccounts, createAccount } from "../store/accounts.js";
import { openDatabase } from "../store/dialects.js";
import { POSTGRES_URL } from "../store/store-fixture.js";
import { createBackup } from "./create-backup.js";
import { MANIFEST_NAME, type Manifest } from "./manifest.js";
import { restoreBackup } from "./restore-backup.js";

const NOW = new Date("2026-12-05T12:00:00Z");
let root: string;
let data: string;
let backupFile: string;

/** A data directory as a server leaves it: a migrated SQLite database with one account, the CA and keys. */
async function makeDataDir(dir: string): Promise<void> {
  const store = await openDatabase({ dataDir: dir });
  await createAccount(store.db, { name: "acme", now: NOW });
  await store.close();
  await writeFile(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nMII…\n-----END CERTIFICATE-----\n", { mode: 0o644 });
  for (const name of ["ca-key.pem", "audit-key", "secret-key"]) await writeFile(join(dir, name), `${name} secret\n`, { mode: 0o600 });
}

/** Packs `files` (name → content) with `manifest` first, as a backup file would be, to test what restore makes of it. */
async function handMade(name: string, manifest: unknown, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(root, "hand-"));
  await writeFile(join(dir, MANIFEST_NAME), JSON.stringify(manifest));
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
  const file = join(root, name);
  await create({ gzip: true, file, cwd: dir }, [MANIFEST_NAME, ...Object.keys(files)]);
  return file;
}

async function manifestOf(): Promise<Manifest> {
  const dir = await mkdtemp(join(root, "peek-"));
  const restored = join(dir, "data");
  return restoreBackup({ dataDir: restored, file: backupFile });
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "fernlink-backup-"));
  data = join(root, "data");
  await mkdir(data, { mode: 0o700 });
  await makeDataDir(data);
  backupFile = join(root, "out", "backup.tar.gz");
  await createBackup({ dataDir: data, file: backupFile, force: false, version: "0.0.0-test", now: NOW });
});

after(() => rm(root, { recursive: true, force: true }));

describe("server backup", () => {
  it("writes one owner-only file with the database, every key and a manifest", async () => {
    assert.equal((await stat(backupFile)).mode & 0o777, 0o600);
    const manifest = await manifestOf();
    assert.equal(manifest.store.kind, "sqlite");
    assert.match(manifest.store.migration ?? "", /^\d{4}_/);
    assert.deepEqual(manifest.files.map((f) => f.name).sort(), ["audit-key", "ca-key.pem", "ca.pem", "fernlink.db", "secret-key"]);
    assert.equal(manifest.createdAt, NOW.toISOString());
    assert.deepEqual(
      (await readdir(join(root, "out"))).filter((n) => n !== "backup.tar.gz"),
      [],
      "no staging folder or temporary file is left",
    );
  });

  it("refuses to replace an existing file unless forced", async () => {
    const before = await readFile(backupFile);
    await assert.rejects(createBackup({ dataDir: data, file: backupFile, force: false, version: "x", now: NOW }), { code: "backup-exists" });
    assert.deepEqual(await readFile(backupFile), before);
    const forced = join(root, "forced.tar.gz");
    await writeFile(forced, "old");
    await createBackup({ dataDir: data, file: forced, force: true, version: "x", now: NOW });
    assert.notEqual((await readFile(forced)).toString(), "old");
  });

  it("refuses a folder without a database, and a file inside the data directory", async () => {
    const empty = await mkdtemp(join(root, "empty-"));
    await assert.rejects(createBackup({ dataDir: empty, file: join(root, "e.tar.gz"), force: false, version: "x", now: NOW }), {
      code: "backup-source-missing",
    });
    await assert.rejects(createBackup({ dataDir: data, file: join(data, "b.tar.gz"), force: false, version: "x", now: NOW }), { code: "backup-exists" });
  });

  it("leaves folders and links of the data directory out, and says so", async () => {
    const dir = await mkdtemp(join(root, "extra-"));
    await makeDataDir(dir);
    await mkdir(join(dir, "folder"));
    await symlink(join(dir, "ca.pem"), join(dir, "link.pem"));
    const { manifest, skipped } = await createBackup({ dataDir: dir, file: join(root, "extra.tar.gz"), force: false, version: "x", now: NOW });
    assert.deepEqual(skipped, ["folder", "link.pem"]);
    assert.ok(!manifest.files.some((f) => f.name === "link.pem"));
  });
});

describe("server restore", () => {
  it("restores the database and keys with their modes into a new folder", async () => {
    const target = join(root, "restored", "data");
    await restoreBackup({ dataDir: target, file: backupFile });
    assert.equal((await stat(target)).mode & 0o777, 0o700);
    assert.equal((await stat(join(target, "ca-key.pem"))).mode & 0o777, 0o600);
    assert.equal((await stat(join(target, "ca.pem"))).mode & 0o777, 0o644);
    assert.equal(await readFile(join(target, "audit-key"), "utf8"), "audit-key secret\n");
    const store = await openDatabase({ dataDir: target });
    assert.equal(await countAccounts(store.db), 1);
    await store.close();
  });

  it("restores into an empty folder, but not into one with anything in it", async () => {
    const empty = await mkdtemp(join(root, "empty-target-"));
    await restoreBackup({ dataDir: empty, file: backupFile });
    await assert.rejects(restoreBackup({ dataDir: empty, file: backupFile }), { code: "restore-target-not-empty" });
    const other = await mkdtemp(join(root, "other-"));
    await writeFile(join(other, "notes.txt"), "mine");
    await assert.rejects(restoreBackup({ dataDir: other, file: backupFile }), { code: "restore-target-not-empty" });
    assert.deepEqual(await readdir(other), ["notes.txt"]);
  });

  it("refuses a file whose content does not match its manifest, writing nothing", async () => {
    const manifest = await manifestOf();
    const tampered = await handMade("tampered.tar.gz", manifest, {
      "fernlink.db": "not the database",
      "audit-key": "audit-key secret\n",
      "ca-key.pem": "ca-key.pem secret\n",
      "ca.pem": "x",
      "secret-key": "secret-key secret\n",
    });
    const target = join(root, "from-tampered");
    await assert.rejects(restoreBackup({ dataDir: target, file: tampered }), { code: "backup-damaged" });
    assert.deepEqual(
      (await readdir(root)).filter((n) => n.startsWith("from-tampered") || n.startsWith(".from-tampered")),
      [],
    );
  });

  it("refuses an entry the manifest does not list", async () => {
    const extra = await handMade("extra.tar.gz", { ...(await manifestOf()), files: [] }, { "unlisted-key": "k" });
    await assert.rejects(restoreBackup({ dataDir: join(root, "from-extra"), file: extra }), { code: "backup-damaged" });
    await assert.rejects(stat(join(root, "from-extra")), { code: "ENOENT" });
  });

  it("refuses entries that would leave the folder or are links", async () => {
    const manifest = { ...(await manifestOf()), files: [] };
    const dir = await mkdtemp(join(root, "odd-"));
    await mkdir(join(dir, "inner"));
    await writeFile(join(dir, "inner", MANIFEST_NAME), JSON.stringify(manifest));
    await writeFile(join(dir, "escaped"), "k");
    await symlink("/etc/passwd", join(dir, "inner", "ca.pem"));
    const traversal = join(root, "traversal.tar.gz");
    await create({ gzip: true, file: traversal, cwd: join(dir, "inner"), preservePaths: true }, [MANIFEST_NAME, "../escaped"]);
    const link = join(root, "link.tar.gz");
    await create({ gzip: true, file: link, cwd: join(dir, "inner") }, [MANIFEST_NAME, "ca.pem"]);
    for (const file of [traversal, link]) {
      const target = join(root, "from-odd");
      await assert.rejects(restoreBackup({ dataDir: target, file }), { code: "backup-damaged" }, file);
      await assert.rejects(stat(target), { code: "ENOENT" });
    }
  });

  it("refuses a backup of a newer format or migration than this build knows", async () => {
    const manifest = await manifestOf();
    const newer = await handMade("newer.tar.gz", { ...manifest, version: 99 }, {});
    await assert.rejects(restoreBackup({ dataDir: join(root, "from-newer"), file: newer }), { code: "backup-too-new" });
    const future = await handMade("future.tar.gz", { ...manifest, store: { kind: "sqlite", migration: "9999_future" }, files: [] }, {});
    await assert.rejects(restoreBackup({ dataDir: join(root, "from-future"), file: future }), { code: "backup-too-new" });
  });

  it("refuses a missing backup file and a data folder that is a file", async () => {
    await assert.rejects(restoreBackup({ dataDir: join(root, "x"), file: join(root, "missing.tar.gz") }), { code: "backup-damaged" });
    const file = join(root, "a-file");
    await writeFile(file, "");
    await chmod(file, 0o600);
    await assert.rejects(restoreBackup({ dataDir: file, file: backupFile }), { code: "restore-target-not-empty" });
  });
});

describe("server backup on PostgreSQL", () => {
  const schema = `fernlink_test_${randomBytes(6).toString("hex")}`;
  const url = `${POSTGRES_URL}?schema=${schema}`;
  let pgData: string;

  before(async () => {
    pgData = await mkdtemp(join(root, "pg-"));
    const store = await openDatabase({ url, dataDir: pgData });
    await store.close();
    await writeFile(join(pgData, "cluster-key"), "cluster key\n", { mode: 0o600 });
    await writeFile(join(pgData, "ca.pem"), "ca\n", { mode: 0o644 });
  });

  after(async () => {
    const store = await openDatabase({ url, dataDir: pgData });
    await sql`drop schema ${sql.id(schema)} cascade`.execute(store.db);
    await store.close();
  });

  it("backs up the key files and names the schema and its migration, without the database", async () => {
    const file = join(root, "pg-keys.tar.gz");
    const { manifest } = await createBackup({ dataDir: pgData, file, force: false, postgres: { url }, version: "x", now: NOW });
    assert.equal(manifest.store.kind, "postgres");
    assert.ok(manifest.store.kind === "postgres" && manifest.store.schema === schema);
    assert.match(manifest.store.migration ?? "", /^\d{4}_/);
    assert.deepEqual(manifest.files.map((f) => f.name).sort(), ["ca.pem", "cluster-key"]);
    const target = join(root, "pg-restored");
    await restoreBackup({ dataDir: target, file });
    assert.equal(await readFile(join(target, "cluster-key"), "utf8"), "cluster key\n");
  });

  it("takes the cluster key from --cluster-key, and refuses without one", async () => {
    const keyFile = join(root, "elsewhere-cluster-key");
    await writeFile(keyFile, "the other key\n", { mode: 0o600 });
    const file = join(root, "pg-other.tar.gz");
    await createBackup({ dataDir: pgData, file, force: false, postgres: { url, clusterKeyFile: keyFile }, version: "x", now: NOW });
    const target = join(root, "pg-other");
    await restoreBackup({ dataDir: target, file });
    assert.equal(await readFile(join(target, "cluster-key"), "utf8"), "the other key\n");
    const bare = await mkdtemp(join(root, "pg-bare-"));
    await assert.rejects(createBackup({ dataDir: bare, file: join(root, "pg-bare.tar.gz"), force: false, postgres: { url }, version: "x", now: NOW }), {
      code: "backup-source-missing",
    });
  });

  it("with a pg_dump restores the schema by pg_restore, all or nothing, and only under its own name", async () => {
    const store = await openDatabase({ url, dataDir: pgData });
    await createAccount(store.db, { name: "acme", now: NOW });
    const file = join(root, "pg-all.tar.gz");
    const { manifest } = await createBackup({ dataDir: pgData, file, force: false, postgres: { url, dump: true }, version: "x", now: NOW });
    assert.ok(manifest.files.some((f) => f.name === "postgres.pgdump"));

    const target = join(root, "pg-all");
    // The schema still exists: pg_restore fails in its one transaction and nothing is written.
    await assert.rejects(restoreBackup({ dataDir: target, file, postgresUrl: url }), { code: "database-tool-failed" });
    await assert.rejects(stat(target), { code: "ENOENT" });
    await assert.rejects(restoreBackup({ dataDir: target, file, postgresUrl: `${POSTGRES_URL}?schema=other` }), { code: "wrong-schema" });

    await sql`drop schema ${sql.id(schema)} cascade`.execute(store.db);
    await store.close();
    await restoreBackup({ dataDir: target, file, postgresUrl: url });
    assert.deepEqual((await readdir(target)).sort(), ["ca.pem", "cluster-key"], "the dump went to PostgreSQL, not into the folder");
    const again = await openDatabase({ url, dataDir: target });
    try {
      assert.equal(await countAccounts(again.db), 1);
    } finally {
      await again.close();
    }
  });

  it("refuses a schema without Fernlink's tables, and does not create it", async () => {
    const missing = `fernlink_test_${randomBytes(6).toString("hex")}`;
    const options = { dataDir: pgData, file: join(root, "pg-missing.tar.gz"), force: false, version: "x", now: NOW };
    await assert.rejects(createBackup({ ...options, postgres: { url: `${POSTGRES_URL}?schema=${missing}` } }), { code: "backup-source-missing" });
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const { rows } = await client.query("select 1 from pg_namespace where nspname = $1", [missing]);
      assert.equal(rows.length, 0);
    } finally {
      await client.end();
    }
  });
});
