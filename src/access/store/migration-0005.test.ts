import assert from "node:assert/strict";
import { createSecretKey, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Kysely } from "kysely";
import { Migrator, sql } from "kysely";
import { GENESIS_HASH, recordHash, SYSTEM_CHAIN } from "../audit-chain.js";
import { verifyStoredChain } from "../audit-queries.js";
import { appendAudit, chainHead, chainRecordAtLegacySeq } from "./audit.js";
import { openDatabase } from "./dialects.js";
import { migrationProvider } from "./migrations.js";
import { openPostgres } from "./postgres.js";
import type { Database } from "./schema.js";
import { openSqlite } from "./sqlite.js";
import type { Store } from "./store.js";
import { POSTGRES_URL } from "./store-fixture.js";

const KEY = createSecretKey(randomBytes(32));

/** A database at the schema before per-account numbering, and how to open it again at the latest. */
interface OldDatabase {
  store: Store;
  reopen(): Promise<Store>;
  cleanup(): Promise<void>;
}

async function oldSqlite(): Promise<OldDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), "fernlink-m5-"));
  const store = await openSqlite(dataDir);
  await migrateTo(store, undefined);
  return { store, reopen: () => openDatabase({ dataDir }), cleanup: () => rm(dataDir, { recursive: true, force: true }) };
}

async function oldPostgres(): Promise<OldDatabase> {
  const schema = `fernlink_m5_${randomBytes(5).toString("hex")}`;
  const url = `${POSTGRES_URL}?schema=${schema}`;
  const { schema: _s, ...store } = await openPostgres(new URL(url));
  await migrateTo(store, schema);
  return {
    store,
    reopen: () => openDatabase({ url, dataDir: tmpdir() }),
    cleanup: async () => {
      const s = await openPostgres(new URL(url));
      await sql`drop schema ${sql.id(schema)} cascade`.execute(s.db);
      await s.close();
    },
  };
}

async function migrateTo(store: Store, schema: string | undefined): Promise<void> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider(store.dialect), ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error } = await migrator.migrateTo("0003_web_targets");
  if (error) throw error;
}

/**
 * Writes records as the version before per-account numbering did: one database-wide seq, the
 * v1 encoding over it, one head per chain. Returns the records' ids per chain, oldest first.
 */
async function writeOldChains(db: Kysely<Database>, plan: (string | null)[]): Promise<Map<string, string[]>> {
  const heads = new Map<string, { seq: number; hash: string; count: number }>();
  const ids = new Map<string, string[]>();
  let seq = 100;
  for (const account of plan) {
    seq += 3; // Other chains' and deleted records left gaps.
    const chain = account ?? SYSTEM_CHAIN;
    const prev = heads.get(chain)?.hash ?? GENESIS_HASH;
    const fields = {
      seq,
      id: `r${seq}`,
      at: new Date(Date.UTC(2030, 0, 1, 0, 0, seq)).toISOString(),
      account_id: account,
      actor: "ada",
      source: "10.0.0.9",
      action: "login",
      object: null,
      result: "ok" as const,
      reason: null,
      device: null,
      target: null,
      started_at: null,
      ended_at: null,
      bytes_up: null,
      bytes_down: null,
    };
    const hash = recordHash(KEY, prev, { ...fields, legacy_seq: seq });
    await sql`insert into audit (seq, id, at, account_id, actor, source, action, result, prev_hash, hash)
      values (${seq}, ${fields.id}, ${fields.at}, ${account}, 'ada', '10.0.0.9', 'login', 'ok', ${prev}, ${hash})`.execute(db);
    heads.set(chain, { seq, hash, count: (heads.get(chain)?.count ?? 0) + 1 });
    ids.set(chain, [...(ids.get(chain) ?? []), fields.id]);
  }
  for (const [chain, head] of heads)
    await sql`insert into audit_heads (chain, seq, hash, count) values (${chain}, ${head.seq}, ${head.hash}, ${head.count})`.execute(db);
  return ids;
}

for (const [label, open] of [
  ["SQLite", oldSqlite],
  ["PostgreSQL", oldPostgres],
] as const) {
  test(`on ${label}, migrating an audit with data renumbers each chain 1..n, and every chain still verifies and still detects tampering`, async (t) => {
    const old = await open();
    t.after(() => old.cleanup());
    await sql`insert into accounts (id, name, created_at) values ('acme', 'acme', '2030-01-01T00:00:00Z'), ('beta', 'beta', '2030-01-01T00:00:00Z')`.execute(
      old.store.db,
    );
    // A record from before the chain: no hashes.
    await sql`insert into audit (seq, id, at, account_id, action, result) values (50, 'unchained', '2029-12-31T00:00:00Z', 'acme', 'login', 'ok')`.execute(
      old.store.db,
    );
    const ids = await writeOldChains(old.store.db, ["acme", "beta", "beta", null, "acme", "beta", "acme", null, "beta"]);
    const oldAcmeHead = (await chainHead(old.store.db, "acme"))!;
    await old.store.close();

    const store = await old.reopen();
    t.after(() => store.close());
    for (const chain of ["acme", "beta", SYSTEM_CHAIN]) {
      const rows = await store.db
        .selectFrom("audit")
        .selectAll()
        .where(chain === SYSTEM_CHAIN ? (eb) => eb("account_id", "is", null) : (eb) => eb("account_id", "=", chain))
        .orderBy("seq")
        .execute();
      const chained = rows.filter((r) => r.hash !== null);
      assert.deepEqual(
        chained.map((r) => r.id),
        ids.get(chain),
        `${chain} keeps its order`,
      );
      assert.deepEqual(
        rows.map((r) => r.seq),
        rows.map((_, i) => i + 1),
        `${chain} is numbered 1..n`,
      );
      const report = await verifyStoredChain(store.db, KEY, chain);
      assert.equal(report.problem, undefined, `${chain}: ${report.problem?.detail}`);
      assert.equal(report.records, ids.get(chain)!.length);
      assert.equal(report.head?.seq, rows.length);
    }
    assert.equal((await verifyStoredChain(store.db, KEY, "acme")).unchained, 1);
    // A head printed before the migration still names its record.
    assert.equal((await chainRecordAtLegacySeq(store.db, "acme", oldAcmeHead.seq))?.hash, oldAcmeHead.hash);

    // New records continue each chain with the next number, and the chain verifies across.
    assert.equal((await appendAudit(store.db, KEY, { at: new Date(), account_id: "acme", action: "after", result: "ok" })).seq, 5);
    assert.equal((await appendAudit(store.db, KEY, { at: new Date(), account_id: null, action: "after", result: "denied" })).seq, 3);
    assert.equal((await verifyStoredChain(store.db, KEY, "acme")).problem, undefined);

    // An old record altered, or moved to another old seq, is found.
    await store.db.updateTable("audit").set({ actor: "mallory" }).where("id", "=", ids.get("beta")![1]!).execute();
    assert.deepEqual([(await verifyStoredChain(store.db, KEY, "beta")).problem?.kind], ["altered"]);
    await store.db.updateTable("audit").set({ legacy_seq: 1 }).where("id", "=", ids.get("acme")![0]!).execute();
    assert.equal((await verifyStoredChain(store.db, KEY, "acme")).problem?.kind, "altered");
  });

  test(`on ${label}, a chain whose newest records were deleted before the migration is still reported missing after it`, async (t) => {
    const old = await open();
    t.after(() => old.cleanup());
    await sql`insert into accounts (id, name, created_at) values ('acme', 'acme', '2030-01-01T00:00:00Z')`.execute(old.store.db);
    const ids = await writeOldChains(old.store.db, ["acme", null, "acme", "acme"]);
    await sql`delete from audit where id = ${ids.get("acme")![2]!}`.execute(old.store.db);
    await old.store.close();
    const store = await old.reopen();
    t.after(() => store.close());
    const { problem } = await verifyStoredChain(store.db, KEY, "acme");
    assert.deepEqual([problem?.kind, problem?.seq], ["missing", null]);
  });
}
