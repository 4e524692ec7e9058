import assert from "node:assert/strict";
import { createSecretKey, randomBytes } from "node:crypto";
import { test } from "node:test";
import type { ChainHead } from "./audit-chain.js";
import { GENESIS_HASH, recordHash } from "./audit-chain.js";
import type { ChainSource } from "./audit-verify.js";
import { verifyChain } from "./audit-verify.js";
import type { AuditRow } from "./store/schema.js";

const KEY = createSecretKey(randomBytes(32));

/** An in-memory chain that can grow while it is being verified. */
class MemoryChain implements ChainSource {
  rows: AuditRow[] = [];
  current: ChainHead | undefined;
  /** Called before each page is served, to simulate appends racing the walk. */
  beforePage: () => void = () => {};

  append(seq: number): void {
    const prev = this.current?.hash ?? GENESIS_HASH;
    const fields = {
      seq,
      id: `r${seq}`,
      at: new Date(seq * 1000).toISOString(),
      account_id: "a",
      actor: "ada",
      source: null,
      action: "x",
      object: null,
      result: "ok" as const,
      reason: null,
      device: null,
      target: null,
      started_at: null,
      ended_at: null,
      bytes_up: null,
      bytes_down: null,
      count: null,
      legacy_seq: null,
      token: null,
    };
    const hash = recordHash(KEY, prev, fields);
    this.rows.push({ ...fields, prev_hash: prev, hash });
    this.current = { seq, hash, count: (this.current?.count ?? 0) + 1 };
  }

  recordsAfter(afterSeq: number, limit: number): Promise<AuditRow[]> {
    this.beforePage();
    return Promise.resolve(this.rows.filter((r) => r.seq > afterSeq).slice(0, limit));
  }

  head(): Promise<ChainHead | undefined> {
    return Promise.resolve(this.current);
  }

  locate(hash: string): Promise<number | undefined> {
    return Promise.resolve(this.rows.find((r) => r.hash === hash)?.seq);
  }
}

test("an empty chain without a head verifies", async () => {
  const report = await verifyChain(KEY, new MemoryChain());
  assert.deepEqual([report.records, report.problem, report.head], [0, undefined, undefined]);
});

test("records appended while the chain is walked are walked too, not reported as missing", async () => {
  const chain = new MemoryChain();
  for (let seq = 1; seq <= 3; seq++) chain.append(seq);
  let pages = 0;
  chain.beforePage = () => {
    if (++pages === 2) chain.append(4);
  };
  const report = await verifyChain(KEY, chain);
  assert.equal(report.problem, undefined);
  assert.equal(report.records, 4);
});

test("records without a head row are reported as a missing head", async () => {
  const chain = new MemoryChain();
  chain.append(1);
  chain.current = undefined;
  const { problem } = await verifyChain(KEY, chain);
  assert.deepEqual([problem?.kind, problem?.seq], ["missing", null]);
});

test("a head with every record gone is reported as missing", async () => {
  const chain = new MemoryChain();
  chain.append(1);
  chain.rows = [];
  const { problem } = await verifyChain(KEY, chain);
  assert.equal(problem?.kind, "missing");
});

test("a chain verified with another key is reported as altered at its first record", async () => {
  const chain = new MemoryChain();
  chain.append(5);
  const { problem } = await verifyChain(createSecretKey(randomBytes(32)), chain);
  assert.deepEqual([problem?.kind, problem?.seq], ["altered", 5]);
});
