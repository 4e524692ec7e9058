import type { KeyObject } from "node:crypto";
import type { ChainHead } from "./audit-chain.js";
import { GENESIS_HASH, hashMatches } from "./audit-chain.js";
import type { AuditRow } from "./store/schema.js";

/** How a chain is broken at its first bad record. */
export type ChainBreakKind = "altered" | "missing" | "inserted" | "reordered";

/** The first place a chain does not verify. `seq` is null when the problem is the head row. */
export interface ChainBreak {
  kind: ChainBreakKind;
  seq: number | null;
  record: AuditRow | undefined;
  detail: string;
}

/** The outcome of walking one chain. */
export interface ChainReport {
  /** Records covered by the chain (walked and verified up to the break, if any). */
  records: number;
  /** Records older than the chain (written before the audit was chained); not protected. */
  unchained: number;
  head: ChainHead | undefined;
  problem: ChainBreak | undefined;
}

/** Where the verifier reads a chain from; the store in production, an array in tests. */
export interface ChainSource {
  /** Records with seq above `afterSeq`, oldest first. */
  recordsAfter(afterSeq: number, limit: number): Promise<AuditRow[]>;
  head(): Promise<ChainHead | undefined>;
  /** The seq of the record whose hash is `hash`, if the chain has one. */
  locate(hash: string): Promise<number | undefined>;
}

const PAGE = 1000;

/** Reads a chain page by page with one record of lookahead; appends that race the walk are picked up. */
class Cursor {
  private buffer: AuditRow[] = [];
  private lastSeq = Number.MIN_SAFE_INTEGER;

  constructor(private readonly source: ChainSource) {}

  async peek(): Promise<AuditRow | undefined> {
    if (this.buffer.length === 0) {
      this.buffer = await this.source.recordsAfter(this.lastSeq, PAGE);
      const last = this.buffer.at(-1);
      if (last) this.lastSeq = last.seq;
    }
    return this.buffer[0];
  }

  async take(): Promise<AuditRow | undefined> {
    const row = await this.peek();
    this.buffer.shift();
    return row;
  }
}

/**
 * Walks a chain in seq order, recomputing each hash, and names the first broken record:
 * - altered: its fields no longer match its hash (and the next record still links to it);
 * - inserted: its hash is not the key's, and the chain links around it;
 * - reordered: it links to a record that sits elsewhere in the order;
 * - missing: it links to a record that is gone, or the head names records that are gone.
 */
export async function verifyChain(key: KeyObject, source: ChainSource): Promise<ChainReport> {
  const cursor = new Cursor(source);
  let unchained = 0;
  // Records written before the audit was chained carry no hashes; only a leading run counts.
  for (let row = await cursor.peek(); row && row.hash === null && row.prev_hash === null; row = await cursor.peek()) {
    await cursor.take();
    unchained++;
  }
  let expected = GENESIS_HASH;
  let previous: AuditRow | undefined;
  let records = 0;
  const report = (problem: ChainBreak | undefined, head: ChainHead | undefined): ChainReport => ({ records, unchained, head, problem });

  for (;;) {
    const row = await cursor.take();
    if (row === undefined) {
      const head = await source.head();
      // An append that raced the walk moved the head past it: walk on.
      if (head && head.seq > (previous?.seq ?? Number.MIN_SAFE_INTEGER) && (await cursor.peek())) continue;
      return report(checkHead(head, previous, expected, records), head);
    }
    if (!hashMatches(key, row.prev_hash, row.hash, row)) {
      return report(await classifyForged(row, expected, previous, cursor, source), await source.head());
    }
    if (row.prev_hash !== expected) {
      const linked = await source.locate(row.prev_hash!);
      const problem: ChainBreak =
        linked !== undefined
          ? { kind: "reordered", seq: row.seq, record: row, detail: `it links to seq ${linked}, which has been moved after it` }
          : {
              kind: "missing",
              seq: row.seq,
              record: row,
              detail: previous ? `the records between seq ${previous.seq} and seq ${row.seq} are missing` : "the records before it are missing",
            };
      return report(problem, await source.head());
    }
    expected = row.hash!;
    previous = row;
    records++;
  }
}

async function classifyForged(row: AuditRow, expected: string, previous: AuditRow | undefined, cursor: Cursor, source: ChainSource): Promise<ChainBreak> {
  if (row.prev_hash !== null && row.prev_hash !== expected) {
    const linked = await source.locate(row.prev_hash);
    if (linked !== undefined && linked !== previous?.seq) {
      return { kind: "reordered", seq: row.seq, record: row, detail: `it was moved: it belongs after seq ${linked}` };
    }
  }
  const next = await cursor.peek();
  const successorLink = next ? next.prev_hash : (await source.head())?.hash;
  if (successorLink === expected) {
    return {
      kind: "inserted",
      seq: row.seq,
      record: row,
      detail: "it is not part of the chain: its hash was not made with the audit key and the chain links around it",
    };
  }
  return { kind: "altered", seq: row.seq, record: row, detail: "its contents no longer match its hash" };
}

function checkHead(head: ChainHead | undefined, last: AuditRow | undefined, expected: string, records: number): ChainBreak | undefined {
  if (head === undefined) {
    return last ? { kind: "missing", seq: null, record: undefined, detail: `the chain's head row is missing (the last record is seq ${last.seq})` } : undefined;
  }
  if (last === undefined) {
    return head.count === 0
      ? undefined
      : { kind: "missing", seq: null, record: undefined, detail: `all ${head.count} records are missing (the head is seq ${head.seq})` };
  }
  if (head.seq !== last.seq || head.hash !== expected) {
    return head.seq > last.seq
      ? { kind: "missing", seq: null, record: undefined, detail: `the newest records after seq ${last.seq} are missing (the head is seq ${head.seq})` }
      : { kind: "altered", seq: null, record: undefined, detail: `the head row (seq ${head.seq}) does not match the last record (seq ${last.seq})` };
  }
  if (head.count !== records) {
    return { kind: "altered", seq: null, record: undefined, detail: `the head row counts ${head.count} records but the chain has ${records}` };
  }
  return undefined;
}
