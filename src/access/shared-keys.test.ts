import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { createLogger } from "../shared/log.js";
import { AUDIT_KEY_FILE, loadOrCreateAuditKey } from "./audit-key.js";
import { CA_CERT_FILE, CA_KEY_FILE, loadOrCreateCa } from "./ca.js";
import { CLUSTER_KEY_FILE, ClusterKeyError, type ClusterKeyProblem } from "./cluster-key.js";
import { loadOrCreateSecretKey, SECRET_KEY_FILE } from "./secret-box.js";
import { openServerKeys, type ServerKeys } from "./shared-keys.js";
import { openDatabase, type Store } from "./store/index.js";
import { POSTGRES_URL } from "./store/store-fixture.js";

const log = createLogger("test", { write: () => {} });
const now = new Date();
let root: string;
const schemas: string[] = [];
const stores: Store[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), "fernlink-shared-keys-"));
});
after(async () => {
  for (const store of stores) await store.close();
  if (schemas.length > 0) {
    const admin = await openDatabase({ url: `${POSTGRES_URL}?schema=${schemas[0]!}`, dataDir: root });
    for (const schema of schemas) await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db);
    await admin.close();
  }
  await rm(root, { recursive: true, force: true });
});

/** A fresh PostgreSQL schema; `open()` gives one node's own connection to it. */
function newCluster(): { open(): Promise<Store> } {
  const schema = `fernlink_test_${randomBytes(6).toString("hex")}`;
  schemas.push(schema);
  return {
    async open() {
      const store = await openDatabase({ url: `${POSTGRES_URL}?schema=${schema}`, dataDir: root });
      stores.push(store);
      return store;
    },
  };
}

async function dataDir(name: string): Promise<string> {
  const dir = join(root, `${name}-${randomBytes(3).toString("hex")}`);
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

const problem = (expected: ClusterKeyProblem) => (err: unknown) => err instanceof ClusterKeyError && err.problem === expected;

function sameKeys(a: ServerKeys, b: ServerKeys): void {
  assert.equal(a.ca.certPem, b.ca.certPem);
  assert.ok(a.auditKey.equals(b.auditKey), "same audit key");
  assert.ok(a.secretKey.equals(b.secretKey), "same secret key");
}

test("on SQLite the keys stay files in the data directory and no cluster key is made", async () => {
  const dir = await dataDir("sqlite");
  const store = await openDatabase({ dataDir: dir });
  stores.push(store);
  const keys = await openServerKeys({ dataDir: dir, store, log, now });
  assert.equal(keys.ca.certPem, await readFile(join(dir, CA_CERT_FILE), "utf8"));
  assert.ok(keys.auditKey.equals((await loadOrCreateAuditKey(dir)).key));
  const files = await readdir(dir);
  for (const f of [CA_CERT_FILE, CA_KEY_FILE, AUDIT_KEY_FILE, SECRET_KEY_FILE]) assert.ok(files.includes(f), f);
  assert.ok(!files.includes(CLUSTER_KEY_FILE));
  assert.deepEqual(await store.db.selectFrom("cluster_keys").selectAll().execute(), []);
});

test("the first PostgreSQL node seals new keys into the store and writes only the cluster key and ca.pem", async () => {
  const cluster = newCluster();
  const dirA = await dataDir("a");
  const a = await openServerKeys({ dataDir: dirA, store: await cluster.open(), log, now });
  assert.deepEqual((await readdir(dirA)).sort(), [CA_CERT_FILE, CLUSTER_KEY_FILE].sort());
  assert.equal((await stat(join(dirA, CLUSTER_KEY_FILE))).mode & 0o777, 0o600);
  assert.equal(await readFile(join(dirA, CA_CERT_FILE), "utf8"), a.ca.certPem);
  const again = await openServerKeys({ dataDir: dirA, store: await cluster.open(), log, now });
  sameKeys(a, again);
});

test("a further node with a copy of the cluster key opens the same CA, audit key and secret key", async () => {
  const cluster = newCluster();
  const dirA = await dataDir("a");
  const a = await openServerKeys({ dataDir: dirA, store: await cluster.open(), log, now });
  const dirB = await dataDir("b");
  await copyFile(join(dirA, CLUSTER_KEY_FILE), join(dirB, CLUSTER_KEY_FILE));
  sameKeys(a, await openServerKeys({ dataDir: dirB, store: await cluster.open(), log, now }));
  assert.equal(await readFile(join(dirB, CA_CERT_FILE), "utf8"), a.ca.certPem);
  const elsewhere = join(await dataDir("keys"), "fernlink.key");
  await copyFile(join(dirA, CLUSTER_KEY_FILE), elsewhere);
  sameKeys(a, await openServerKeys({ dataDir: await dataDir("c"), store: await cluster.open(), clusterKeyFile: elsewhere, log, now }));
});

test("a cluster key in base64 opens the keys as its hex form does", async () => {
  const cluster = newCluster();
  const dirA = await dataDir("a");
  const a = await openServerKeys({ dataDir: dirA, store: await cluster.open(), log, now });
  const hex = (await readFile(join(dirA, CLUSTER_KEY_FILE), "utf8")).trim();
  const dirB = await dataDir("b");
  await writeFile(join(dirB, CLUSTER_KEY_FILE), `${Buffer.from(hex, "hex").toString("base64")}\n`, { mode: 0o600 });
  sameKeys(a, await openServerKeys({ dataDir: dirB, store: await cluster.open(), log, now }));
});

test("a node without the cluster key, or with another, refuses naming the file to copy and writes nothing", async () => {
  const cluster = newCluster();
  const dirA = await dataDir("a");
  await openServerKeys({ dataDir: dirA, store: await cluster.open(), log, now });
  const dirB = await dataDir("b");
  await assert.rejects(openServerKeys({ dataDir: dirB, store: await cluster.open(), log, now }), (err: unknown) => {
    assert.ok(problem("missing")(err));
    assert.match((err as Error).message, new RegExp(`${join(dirA, CLUSTER_KEY_FILE)}.* to ${join(dirB, CLUSTER_KEY_FILE)}`));
    return true;
  });
  assert.deepEqual(await readdir(dirB), []);
  await writeFile(join(dirB, CLUSTER_KEY_FILE), randomBytes(32).toString("hex"), { mode: 0o600 });
  await assert.rejects(openServerKeys({ dataDir: dirB, store: await cluster.open(), log, now }), problem("wrong"));
  assert.deepEqual(await readdir(dirB), [CLUSTER_KEY_FILE]);
});

test("a single-node PostgreSQL data directory is moved into the store with its own CA and keys", async () => {
  const cluster = newCluster();
  const dir = await dataDir("single");
  const ca = await loadOrCreateCa(dir, { now });
  const audit = (await loadOrCreateAuditKey(dir)).key;
  const secret = (await loadOrCreateSecretKey(dir)).key;
  const keys = await openServerKeys({ dataDir: dir, store: await cluster.open(), log, now });
  assert.equal(keys.ca.certPem, ca.certPem);
  assert.ok(keys.auditKey.equals(audit));
  assert.ok(keys.secretKey.equals(secret));
  const dirB = await dataDir("b");
  await copyFile(join(dir, CLUSTER_KEY_FILE), join(dirB, CLUSTER_KEY_FILE));
  sameKeys(keys, await openServerKeys({ dataDir: dirB, store: await cluster.open(), log, now }));
});

test("nodes starting at once with one cluster key agree on one CA", async () => {
  const cluster = newCluster();
  const key = join(await dataDir("shared"), "cluster.key");
  await writeFile(key, randomBytes(32).toString("hex"), { mode: 0o600 });
  const nodes = await Promise.all(
    Array.from({ length: 4 }, async (_, i) => openServerKeys({ dataDir: await dataDir(`n${i}`), store: await cluster.open(), clusterKeyFile: key, log, now })),
  );
  for (const n of nodes) sameKeys(nodes[0]!, n);
});

test("of two first nodes with their own data directories one seals, the other refuses and leaves no key behind", async () => {
  const cluster = newCluster();
  const dirs = [await dataDir("x"), await dataDir("y")];
  const stores = [await cluster.open(), await cluster.open()];
  const results = await Promise.allSettled(dirs.map((dir, i) => openServerKeys({ dataDir: dir, store: stores[i]!, log, now })));
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  const loser = results.findIndex((r) => r.status === "rejected");
  assert.ok(problem("missing")((results[loser] as PromiseRejectedResult).reason));
  assert.deepEqual(await readdir(dirs[loser]!), []);
});

test("sealed keys swapped between rows do not open", async () => {
  const cluster = newCluster();
  const dirA = await dataDir("a");
  const store = await cluster.open();
  await openServerKeys({ dataDir: dirA, store, log, now });
  const rows = await store.db.selectFrom("cluster_keys").select(["name", "sealed"]).execute();
  const sealed = (name: string) => rows.find((r) => r.name === name)!.sealed;
  await store.db
    .updateTable("cluster_keys")
    .set({ sealed: sealed("secret-key") })
    .where("name", "=", "audit-key")
    .execute();
  await assert.rejects(openServerKeys({ dataDir: dirA, store, log, now }), problem("damaged"));
});

test("a data directory holding another CA is refused instead of overwritten", async () => {
  const cluster = newCluster();
  const dirA = await dataDir("a");
  await openServerKeys({ dataDir: dirA, store: await cluster.open(), log, now });
  const dirB = await dataDir("b");
  await loadOrCreateCa(dirB, { now });
  const before = await readFile(join(dirB, CA_CERT_FILE), "utf8");
  await copyFile(join(dirA, CLUSTER_KEY_FILE), join(dirB, CLUSTER_KEY_FILE));
  await assert.rejects(openServerKeys({ dataDir: dirB, store: await cluster.open(), log, now }), problem("ca-differs"));
  assert.equal(await readFile(join(dirB, CA_CERT_FILE), "utf8"), before);
});
