import assert from "node:assert/strict";
import { createSecretKey, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { GENESIS_HASH, SYSTEM_CHAIN } from "../audit-chain.js";
import { verifyStoredChain } from "../audit-queries.js";
import { AuditWriter } from "../audit-writer.js";
import type { AuditInput } from "./audit.js";
import { appendAudit, appendAuditBatch, chainHead, listAudit } from "./audit.js";
import type { Store } from "./store.js";
import type { StoreCase } from "./store-fixture.js";
import { at, newAccount, T0, testOnEveryBackend } from "./store-fixture.js";

const KEY = createSecretKey(randomBytes(32));

function event(accountId: string | null, action: string, extra: Partial<AuditInput> = {}): AuditInput {
  return { at: T0, account_id: accountId, actor: "ada", source: "10.0.0.9", action, result: "ok", ...extra };
}

/** An account with `n` chained records; returns its id and their seqs, oldest first. */
async function chainOf(store: Store, n: number): Promise<{ account: string; seqs: number[] }> {
  const account = (await newAccount(store)).id;
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) seqs.push((await appendAudit(store.db, KEY, event(account, `action-${i}`, { at: at(i) }))).seq);
  return { account, seqs };
}

const verify = (store: Store, chain: string) => verifyStoredChain(store.db, KEY, chain);

const cases: StoreCase[] = [
  {
    name: "each chain numbers its records 1, 2, 3 … on its own, however the chains interleave",
    async run({ store }) {
      const acme = (await newAccount(store)).id;
      const beta = (await newAccount(store)).id;
      const seqs: Record<string, number[]> = { [acme]: [], [beta]: [] };
      for (let i = 0; i < 12; i++) {
        const account = i % 3 === 0 ? acme : beta;
        seqs[account]!.push((await appendAudit(store.db, KEY, event(account, `a${i}`))).seq);
      }
      assert.deepEqual(seqs[acme], [1, 2, 3, 4]);
      assert.deepEqual(seqs[beta], [1, 2, 3, 4, 5, 6, 7, 8]);
      assert.deepEqual(await chainHead(store.db, acme), { seq: 4, hash: (await listAudit(store.db, acme, { limit: 1 }))[0]!.hash, count: 4 });
      for (const account of [acme, beta]) assert.equal((await verify(store, account)).problem, undefined);
    },
  },
  {
    name: "the count of an aggregated record is covered by its hash",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      const row = await appendAudit(store.db, KEY, event(account, "login", { result: "denied", count: 40 }));
      await appendAudit(store.db, KEY, event(account, "after"));
      assert.equal(row.count, 40);
      assert.equal((await verify(store, account)).problem, undefined);
      await store.db.updateTable("audit").set({ count: 4 }).where("id", "=", row.id).execute();
      const { problem } = await verify(store, account);
      assert.deepEqual([problem?.kind, problem?.seq], ["altered", row.seq]);
    },
  },
  {
    name: "the API token a record names is stored and covered by its hash: renaming or removing it is found",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      const plain = await appendAudit(store.db, KEY, event(account, "login"));
      const byToken = await appendAudit(store.db, KEY, event(account, "device.add", { token: "ci-deploy" }));
      await appendAudit(store.db, KEY, event(account, "after"));
      assert.deepEqual(
        (await listAudit(store.db, account, { limit: 3 })).map((r) => r.token),
        [null, "ci-deploy", null],
      );
      assert.equal((await verify(store, account)).problem, undefined);
      for (const [id, token] of [
        [byToken.id, "nightly"],
        [byToken.id, null],
        [plain.id, "ci-deploy"],
      ] as const) {
        const was = id === plain.id ? null : "ci-deploy";
        await store.db.updateTable("audit").set({ token }).where("id", "=", id).execute();
        const { problem } = await verify(store, account);
        assert.deepEqual([problem?.kind, problem?.seq], ["altered", id === plain.id ? plain.seq : byToken.seq], `token ${String(was)} → ${String(token)}`);
        await store.db.updateTable("audit").set({ token: was }).where("id", "=", id).execute();
      }
      assert.equal((await verify(store, account)).problem, undefined);
    },
  },
  {
    name: "audit records are listed newest first, filtered, and page backwards by seq",
    async run({ store }) {
      const { db } = store;
      const account = (await newAccount(store)).id;
      const other = (await newAccount(store)).id;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await appendAudit(db, KEY, event(account, `a${i}`, { at: at(i), actor: i % 2 ? "bob" : "ada", device: i === 4 ? "plc" : null }))).id);
        await appendAudit(db, KEY, event(other, "elsewhere"));
      }
      const first = await listAudit(db, account, { limit: 3 });
      assert.deepEqual(
        first.map((r) => r.id),
        [ids[4], ids[3], ids[2]],
      );
      const rest = await listAudit(db, account, { limit: 3, beforeSeq: first.at(-1)!.seq });
      assert.deepEqual(
        rest.map((r) => r.id),
        [ids[1], ids[0]],
      );
      assert.deepEqual(
        (await listAudit(db, account, { limit: 10, actor: "bob" })).map((r) => r.id),
        [ids[3], ids[1]],
      );
      assert.deepEqual(
        (await listAudit(db, account, { limit: 10, since: at(3) })).map((r) => r.id),
        [ids[4], ids[3]],
      );
      assert.deepEqual(
        (await listAudit(db, account, { limit: 10, device: "plc" })).map((r) => r.id),
        [ids[4]],
      );
    },
  },
  {
    name: "an audit record keeps a given id and gets one when none is given",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      const given = await appendAudit(store.db, KEY, event(account, "x", { id: `given-${account}` }));
      assert.equal(given.id, `given-${account}`);
      assert.notEqual((await appendAudit(store.db, KEY, event(account, "x"))).id, given.id);
    },
  },
  {
    name: "a stream record stores its start, end and byte counts as numbers",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      const big = 2 ** 40 + 7;
      await appendAudit(
        store.db,
        KEY,
        event(account, "stream", { at: at(90), started_at: at(1), ended_at: at(90), bytes_up: big, bytes_down: 12, target: "10.0.0.5:502" }),
      );
      const [row] = await listAudit(store.db, account, { limit: 1 });
      assert.equal(row?.started_at, at(1).toISOString());
      assert.equal(row?.ended_at, at(90).toISOString());
      assert.equal(row?.bytes_up, big);
      assert.equal(row?.bytes_down, 12);
      assert.equal((await verify(store, account)).problem, undefined);
    },
  },
  {
    name: "each account's records form one chain from the genesis hash to the head",
    async run({ store }) {
      const { account, seqs } = await chainOf(store, 4);
      const rows = (await listAudit(store.db, account, { limit: 10 })).reverse();
      assert.equal(rows[0]?.prev_hash, GENESIS_HASH);
      for (let i = 1; i < rows.length; i++) assert.equal(rows[i]?.prev_hash, rows[i - 1]?.hash);
      assert.deepEqual(await chainHead(store.db, account), { seq: seqs[3], hash: rows[3]?.hash, count: 4 });
      const report = await verify(store, account);
      assert.equal(report.problem, undefined);
      assert.equal(report.records, 4);
    },
  },
  {
    name: "records without an account are chained in the system chain",
    async run({ store }) {
      const row = await appendAudit(store.db, KEY, event(null, "login", { result: "denied" }));
      assert.equal((await chainHead(store.db, SYSTEM_CHAIN))?.seq, row.seq);
      assert.equal((await verify(store, SYSTEM_CHAIN)).problem, undefined);
    },
  },
  {
    name: "a field updated by SQL is reported as altered, naming the record",
    async run({ store }) {
      const { account, seqs } = await chainOf(store, 4);
      await store.db.updateTable("audit").set({ actor: "mallory" }).where("account_id", "=", account).where("seq", "=", seqs[1]!).execute();
      const { problem } = await verify(store, account);
      assert.equal(problem?.kind, "altered");
      assert.equal(problem?.seq, seqs[1]);
    },
  },
  {
    name: "a record deleted by SQL is reported as missing at the record after it",
    async run({ store }) {
      const { account, seqs } = await chainOf(store, 4);
      await store.db.deleteFrom("audit").where("account_id", "=", account).where("seq", "=", seqs[2]!).execute();
      const { problem } = await verify(store, account);
      assert.equal(problem?.kind, "missing");
      assert.equal(problem?.seq, seqs[3]);
    },
  },
  {
    name: "a record inserted by SQL between two others is reported as inserted",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      const a = await appendAudit(store.db, KEY, event(account, "a"));
      const b = await appendAudit(store.db, KEY, event(account, "b"));
      // Records are numbered without gaps: the forger moves b on to make room.
      await store.db
        .updateTable("audit")
        .set({ seq: b.seq + 1 })
        .where("id", "=", b.id)
        .execute();
      await store.db
        .insertInto("audit")
        .values({ ...a, seq: b.seq, id: `forged-${account}`, action: "device.add", prev_hash: a.hash, hash: "f".repeat(64) })
        .execute();
      const { problem } = await verify(store, account);
      assert.equal(problem?.kind, "inserted");
      assert.equal(problem?.seq, b.seq);
    },
  },
  {
    name: "a record inserted by SQL after the newest one is reported as inserted",
    async run({ store }) {
      const { account, seqs } = await chainOf(store, 2);
      const [newest] = await listAudit(store.db, account, { limit: 1 });
      await store.db
        .insertInto("audit")
        .values({ ...newest!, seq: newest!.seq + 1, id: `forged-${account}`, prev_hash: newest!.hash })
        .execute();
      const { problem } = await verify(store, account);
      assert.equal(problem?.kind, "inserted");
      assert.ok(problem.seq! > seqs[1]!);
    },
  },
  {
    name: "two records whose order was swapped by SQL are reported as reordered",
    async run({ store }) {
      const { account, seqs } = await chainOf(store, 4);
      const [x, y] = [seqs[1]!, seqs[2]!];
      const mine = () => store.db.updateTable("audit").where("account_id", "=", account);
      await mine().set({ seq: -1 }).where("seq", "=", x).execute();
      await mine().set({ seq: x }).where("seq", "=", y).execute();
      await mine().set({ seq: y }).where("seq", "=", -1).execute();
      const { problem } = await verify(store, account);
      assert.equal(problem?.kind, "reordered");
      assert.equal(problem?.seq, x);
    },
  },
  {
    name: "the newest records deleted by SQL are reported as missing against the head",
    async run({ store }) {
      const { account, seqs } = await chainOf(store, 4);
      await store.db.deleteFrom("audit").where("seq", ">=", seqs[2]!).where("account_id", "=", account).execute();
      const { problem } = await verify(store, account);
      assert.equal(problem?.kind, "missing");
      assert.equal(problem?.seq, null);
      assert.match(problem?.detail ?? "", new RegExp(`after seq ${seqs[1]}`));
    },
  },
  {
    name: "a head row whose count was changed is reported as altered",
    async run({ store }) {
      const { account } = await chainOf(store, 3);
      await store.db.updateTable("audit_heads").set({ count: 2 }).where("chain", "=", account).execute();
      const { problem } = await verify(store, account);
      assert.equal(problem?.kind, "altered");
      assert.equal(problem?.seq, null);
    },
  },
  {
    name: "records written before the audit was chained are counted as unchained, not as broken",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      await store.db
        .insertInto("audit")
        .values({ seq: 1, legacy_seq: 40, id: `legacy-${account}`, at: T0.toISOString(), account_id: account, action: "login", result: "ok" })
        .execute();
      await appendAudit(store.db, KEY, event(account, "after"));
      const report = await verify(store, account);
      assert.equal(report.problem, undefined);
      assert.deepEqual([report.unchained, report.records], [1, 1]);
    },
  },
  {
    name: "an append inside a caller's transaction joins it and rolls back with it",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      await appendAudit(store.db, KEY, event(account, "kept"));
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await appendAudit(trx, KEY, event(account, "rolled-back"));
          throw new Error("abort");
        }),
        /abort/,
      );
      assert.deepEqual(
        (await listAudit(store.db, account, { limit: 10 })).map((r) => r.action),
        ["kept"],
      );
      assert.equal((await verify(store, account)).problem, undefined);
    },
  },
  {
    name: "50 parallel appends to one new chain keep one valid chain",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      const rows = await Promise.all(Array.from({ length: 50 }, (_, i) => appendAudit(store.db, KEY, event(account, `parallel-${i}`))));
      assert.equal(new Set(rows.map((r) => r.seq)).size, 50);
      const report = await verify(store, account);
      assert.equal(report.problem, undefined);
      assert.equal(report.records, 50);
      assert.equal(report.head?.count, 50);
    },
  },
  {
    name: "a batch appends its records in order, each to its own chain, as one append each would",
    async run({ store }) {
      const acme = (await newAccount(store)).id;
      const beta = (await newAccount(store)).id;
      await appendAudit(store.db, KEY, event(acme, "before"));
      const rows = await appendAuditBatch(store.db, KEY, [event(beta, "b1"), event(acme, "a2"), event(null, "s1"), event(acme, "a3"), event(beta, "b2")]);
      assert.deepEqual(
        rows.map((r) => [r.action, r.seq]),
        [
          ["b1", 1],
          ["a2", 2],
          ["s1", (await chainHead(store.db, SYSTEM_CHAIN))!.seq],
          ["a3", 3],
          ["b2", 2],
        ],
      );
      await appendAudit(store.db, KEY, event(acme, "after"));
      assert.deepEqual((await chainHead(store.db, acme))?.seq, 4);
      for (const chain of [acme, beta, SYSTEM_CHAIN]) assert.equal((await verify(store, chain)).problem, undefined);
    },
  },
  {
    name: "records asked for at once are written in batches, in order; a bad record fails alone",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      const writer = new AuditWriter(store.db);
      const writes = Array.from({ length: 30 }, (_, i) =>
        // One record has a result the table's check refuses.
        writer.append(KEY, event(account, `r${i}`, i === 17 ? { result: "maybe" as AuditInput["result"] } : {})),
      );
      const results = await Promise.allSettled(writes);
      assert.deepEqual(
        results.map((r) => r.status),
        results.map((_, i) => (i === 17 ? "rejected" : "fulfilled")),
      );
      const seqs = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.seq] : []));
      assert.deepEqual(
        seqs,
        Array.from({ length: 29 }, (_, i) => i + 1),
      );
      assert.equal((await verify(store, account)).problem, undefined);
    },
  },
  {
    name: "a record allowed a while waits for it and takes later ones along; one needed now pulls the batch forward",
    async run({ store }) {
      const account = (await newAccount(store)).id;
      const writer = new AuditWriter(store.db);
      const settled: string[] = [];
      const track = (name: string, p: Promise<{ seq: number }>) =>
        p.then((row) => {
          settled.push(name);
          return row.seq;
        });
      const t0 = Date.now();
      const a = track("a", writer.append(KEY, event(account, "a"), 300));
      await sleep(40);
      const b = track("b", writer.append(KEY, event(account, "b"), 300));
      await sleep(40);
      assert.deepEqual(settled, [], "a record allowed 300 ms was written after 80");
      const c = track("c", writer.append(KEY, event(account, "c")));
      assert.deepEqual(await Promise.all([a, b, c]), [1, 2, 3]);
      assert.ok(Date.now() - t0 < 250, `the record needed now waited for the others' limit: ${Date.now() - t0} ms`);

      const d = track("d", writer.append(KEY, event(account, "d"), 120));
      await sleep(60);
      assert.equal(settled.length, 3, "written before its limit with nothing else asking");
      assert.equal(await d, 4);
      assert.equal((await verify(store, account)).problem, undefined);
    },
  },
];

testOnEveryBackend(cases);
