import type { KeyObject } from "node:crypto";
import { randomUUID } from "node:crypto";
import type { Expression, ExpressionBuilder, Kysely, SqlBool, Transaction } from "kysely";
import { PostgresAdapter } from "kysely";
import type { ChainedFields, ChainHead } from "../audit-chain.js";
import { chainOf, GENESIS_HASH, recordHash } from "../audit-chain.js";
import type { AuditRow, Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** An audit record to append; `seq`, the hashes and (if absent) `id` are assigned here. */
export interface AuditInput {
  id?: string;
  at: Instant;
  account_id?: string | null;
  actor?: string | null;
  source?: string | null;
  action: string;
  object?: string | null;
  result: AuditRow["result"];
  reason?: string | null;
  device?: string | null;
  target?: string | null;
  started_at?: Instant | null;
  ended_at?: Instant | null;
  bytes_up?: number | null;
  bytes_down?: number | null;
  /** For a record standing for several refusals: how many (more than one). */
  count?: number | null;
  /** The name of the API token the action was taken with. */
  token?: string | null;
}

/** Which records a listing returns; all filters are optional and combine with "and". */
export interface AuditFilter {
  limit: number;
  /** Only records with `seq` below this (the last seq of the previous page). */
  beforeSeq?: number | undefined;
  /** Only records written at or after this time. */
  since?: Instant | undefined;
  actor?: string | undefined;
  device?: string | undefined;
  actions?: readonly string[] | undefined;
  result?: AuditRow["result"] | undefined;
  /** Only records whose `ended_at` is at or after this time (streams open since then). */
  endedSince?: Instant | undefined;
}

/**
 * Appends a record to its chain (the account's, or "system") and returns the stored row. The
 * chain's head row is locked for the append (`select … for update` on PostgreSQL; SQLite runs
 * one write at a time), so concurrent appends still form one unbroken chain. Inside a caller's
 * transaction it joins that transaction.
 */
export function appendAudit(db: Kysely<Database>, key: KeyObject, input: AuditInput): Promise<AuditRow> {
  const run = (trx: Kysely<Database>): Promise<AuditRow> => appendLocked(trx, key, input);
  return db.isTransaction ? run(db) : db.transaction().execute((trx: Transaction<Database>) => run(trx));
}

async function appendLocked(trx: Kysely<Database>, key: KeyObject, input: AuditInput): Promise<AuditRow> {
  const chain = chainOf(input.account_id ?? null);
  const head = await lockHead(trx, chain);
  const row = chainedRow(key, head, input);
  await trx.insertInto("audit").values(row).execute();
  await trx
    .updateTable("audit_heads")
    .set({ seq: row.seq, hash: row.hash, count: head.count + 1 })
    .where("chain", "=", chain)
    .execute();
  return row;
}

/** Records per batch at most: 19 columns each stays far below both databases' limits on bound values. */
export const AUDIT_BATCH_MAX = 200;

/**
 * Appends several records in one transaction, in the order given, each to its chain: the same
 * rows as one `appendAudit` each, with one head lock and one head update per chain and one
 * insert for all. Chains are locked in sorted order, so two nodes' batches cannot deadlock.
 */
export function appendAuditBatch(db: Kysely<Database>, key: KeyObject, inputs: readonly AuditInput[]): Promise<AuditRow[]> {
  if (inputs.length > AUDIT_BATCH_MAX) throw new RangeError(`at most ${AUDIT_BATCH_MAX} audit records per batch`);
  const run = async (trx: Kysely<Database>): Promise<AuditRow[]> => {
    if (inputs.length === 0) return [];
    const chains = [...new Set(inputs.map((i) => chainOf(i.account_id ?? null)))].sort();
    const heads = new Map<string, ChainHead>();
    for (const chain of chains) heads.set(chain, await lockHead(trx, chain));
    const rows = inputs.map((input) => {
      const chain = chainOf(input.account_id ?? null);
      const head = heads.get(chain)!;
      const row = chainedRow(key, head, input);
      heads.set(chain, { seq: row.seq, hash: row.hash, count: head.count + 1 });
      return row;
    });
    await trx.insertInto("audit").values(rows).execute();
    for (const [chain, head] of heads) await trx.updateTable("audit_heads").set(head).where("chain", "=", chain).execute();
    return rows;
  };
  return db.isTransaction ? run(db) : db.transaction().execute((trx: Transaction<Database>) => run(trx));
}

/** The row that follows `head` in its chain. */
function chainedRow(key: KeyObject, head: ChainHead, input: AuditInput): AuditRow & { hash: string } {
  const fields: ChainedFields = {
    // Numbered within its chain only, so no account's numbers show another's activity.
    seq: head.seq + 1,
    id: input.id ?? randomUUID(),
    at: iso(input.at),
    account_id: input.account_id ?? null,
    actor: input.actor ?? null,
    source: input.source ?? null,
    action: input.action,
    object: input.object ?? null,
    result: input.result,
    reason: input.reason ?? null,
    device: input.device ?? null,
    target: input.target ?? null,
    started_at: input.started_at == null ? null : iso(input.started_at),
    ended_at: input.ended_at == null ? null : iso(input.ended_at),
    bytes_up: input.bytes_up ?? null,
    bytes_down: input.bytes_down ?? null,
    count: input.count ?? null,
    token: input.token ?? null,
  };
  const hash = recordHash(key, head.hash, fields);
  return {
    ...fields,
    result: input.result,
    prev_hash: head.hash,
    hash,
    count: fields.count ?? null,
    legacy_seq: null,
    token: fields.token ?? null,
  };
}

function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** The chain's head, locked until the transaction ends; created empty for a new chain. */
async function lockHead(trx: Kysely<Database>, chain: string): Promise<ChainHead> {
  const select = () => {
    const query = trx.selectFrom("audit_heads").select(["seq", "hash", "count"]).where("chain", "=", chain);
    return (isPostgres(trx) ? query.forUpdate() : query).executeTakeFirst();
  };
  const head = await select();
  if (head !== undefined) return head;
  // A chain of records from before the audit was chained has no head yet: number on after them.
  const last = await trx
    .selectFrom("audit")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .where(inChain(chain))
    .executeTakeFirst();
  // Two first appends may race here: the loser's insert does nothing and its select then waits.
  await trx
    .insertInto("audit_heads")
    .values({ chain, seq: Number(last?.seq ?? 0), hash: GENESIS_HASH, count: 0 })
    .onConflict((oc) => oc.column("chain").doNothing())
    .execute();
  const created = await select();
  if (created === undefined) throw new Error(`audit chain head "${chain}" vanished during an append`);
  return created;
}

/** The records of one chain (an account id, or "system") matching `filter`, newest first; page with `beforeSeq`. */
export function listAudit(db: Kysely<Database>, chain: string, filter: AuditFilter): Promise<AuditRow[]> {
  let query = db.selectFrom("audit").selectAll().where(inChain(chain));
  if (filter.beforeSeq !== undefined) query = query.where("seq", "<", filter.beforeSeq);
  if (filter.since !== undefined) query = query.where("at", ">=", iso(filter.since));
  if (filter.endedSince !== undefined) query = query.where("ended_at", ">=", iso(filter.endedSince));
  if (filter.actor !== undefined) query = query.where("actor", "=", filter.actor);
  if (filter.device !== undefined) query = query.where("device", "=", filter.device);
  if (filter.actions !== undefined) query = query.where("action", "in", [...filter.actions]);
  if (filter.result !== undefined) query = query.where("result", "=", filter.result);
  return query.orderBy("seq", "desc").limit(filter.limit).execute();
}

/** Records of one chain with `seq` above `afterSeq`, oldest first, at most `limit`. */
export function chainRecords(db: Kysely<Database>, chain: string, afterSeq: number, limit: number): Promise<AuditRow[]> {
  return db.selectFrom("audit").selectAll().where(inChain(chain)).where("seq", ">", afterSeq).orderBy("seq", "asc").limit(limit).execute();
}

/** The head row of a chain, if it has one. */
export function chainHead(db: Kysely<Database>, chain: string): Promise<ChainHead | undefined> {
  return db.selectFrom("audit_heads").select(["seq", "hash", "count"]).where("chain", "=", chain).executeTakeFirst();
}

/** The seq of the record of `chain` whose hash is `hash`, if any. */
export async function chainSeqOfHash(db: Kysely<Database>, chain: string, hash: string): Promise<number | undefined> {
  const row = await db.selectFrom("audit").select("seq").where(inChain(chain)).where("hash", "=", hash).orderBy("seq").executeTakeFirst();
  return row?.seq;
}

/** The record of `chain` with this seq, if any. */
export function chainRecordAt(db: Kysely<Database>, chain: string, seq: number): Promise<AuditRow | undefined> {
  return db.selectFrom("audit").selectAll().where(inChain(chain)).where("seq", "=", seq).executeTakeFirst();
}

/** The record of `chain` that had this database-wide seq before per-account numbering, if any. */
export function chainRecordAtLegacySeq(db: Kysely<Database>, chain: string, legacySeq: number): Promise<AuditRow | undefined> {
  return db.selectFrom("audit").selectAll().where(inChain(chain)).where("legacy_seq", "=", legacySeq).executeTakeFirst();
}

function inChain(chain: string): (eb: ExpressionBuilder<Database, "audit">) => Expression<SqlBool> {
  return (eb) => (chain === chainOf(null) ? eb("account_id", "is", null) : eb("account_id", "=", chain));
}
