import type { KeyObject } from "node:crypto";
import type { Kysely } from "kysely";
import type { AuditRecord } from "../protocol/api.js";
import type { AuditQuery, AuditVerification } from "../protocol/api-audit.js";
import { chainOf } from "./audit-chain.js";
import { auditBy, toAuditRecord } from "./audit-log.js";
import type { ChainBreak, ChainReport } from "./audit-verify.js";
import { verifyChain } from "./audit-verify.js";
import type { AccessContext, Principal } from "./context.js";
import { ensureAdmin } from "./roles.js";
import { chainHead, chainRecordAt, chainRecordAtLegacySeq, chainRecords, chainSeqOfHash, listAudit } from "./store/audit.js";
import type { Database } from "./store/schema.js";

/** The account's audit records matching the query, newest first (admins only). */
export async function queryAudit(ctx: AccessContext, who: Principal, query: AuditQuery): Promise<AuditRecord[]> {
  await ensureAdmin(ctx, who, "audit.list", "audit");
  const rows = await listAudit(ctx.db, who.accountId, {
    limit: query.limit,
    beforeSeq: query.before,
    since: query.since,
    actor: query.user,
    device: query.device,
  });
  return rows.map(toAuditRecord);
}

/**
 * Walks the caller's account chain and recomputes every hash (admins only). With `expectHead`
 * (a head printed by an earlier run) it also proves that record is still in the chain, which
 * catches a truncation that rewrote the head row. The outcome is itself audited.
 */
export async function verifyAccountAudit(ctx: AccessContext, who: Principal, expectHead?: string): Promise<AuditVerification> {
  await ensureAdmin(ctx, who, "audit.verify", "audit");
  const chain = chainOf(who.accountId);
  const report = await verifyStoredChain(ctx.db, ctx.auditKey, chain);
  const problem = report.problem ?? (expectHead ? await checkExpectedHead(ctx, chain, expectHead) : undefined);
  const result: AuditVerification = {
    ok: problem === undefined,
    account: who.accountName,
    records: report.records,
    unchained: report.unchained,
    head: report.head ? { seq: report.head.seq, hash: report.head.hash, count: report.head.count } : null,
    problem: problem
      ? { kind: problem.kind, seq: problem.seq, record: problem.record ? toAuditRecord(problem.record) : null, message: describeBreak(problem) }
      : null,
  };
  await auditBy(ctx, who, "audit.verify", "audit", result.ok ? "ok" : "error", result.problem?.message ?? summary(report));
  return result;
}

/** Walks one stored chain (an account id, or "system") and recomputes every hash. */
export function verifyStoredChain(db: Kysely<Database>, key: KeyObject, chain: string): Promise<ChainReport> {
  return verifyChain(key, {
    recordsAfter: (afterSeq, limit) => chainRecords(db, chain, afterSeq, limit),
    head: () => chainHead(db, chain),
    locate: (hash) => chainSeqOfHash(db, chain, hash),
  });
}

async function checkExpectedHead(ctx: AccessContext, chain: string, expectHead: string): Promise<ChainBreak | undefined> {
  const [seqText, hash] = expectHead.split(":") as [string, string];
  const seq = Number(seqText);
  // A head printed before per-account numbering names the record by its old database-wide seq.
  const legacy = await chainRecordAtLegacySeq(ctx.db, chain, seq);
  if (legacy !== undefined && legacy.hash === hash) return undefined;
  const row = await chainRecordAt(ctx.db, chain, seq);
  if (row === undefined) {
    return {
      kind: "missing",
      seq,
      record: undefined,
      detail: `the expected head seq ${seq} is no longer in the chain: records up to it were removed and the head row rewritten`,
    };
  }
  if (row.hash !== hash) {
    // The walk passed, so this record was made with the key: the kept one was removed, and its
    // number — per account, so used again after the head row was rewritten — went to a later one.
    return {
      kind: "missing",
      seq,
      record: row,
      detail:
        `the record of the expected head (hash ${hash}) is no longer in the chain: records up to it were removed, ` +
        `the head row rewritten and seq ${seq} used again`,
    };
  }
  return undefined;
}

function summary(report: ChainReport): string {
  return `${report.records} records verified${report.head ? `, head seq ${report.head.seq}` : ""}`;
}

/** One sentence naming the broken record and what is wrong with it. */
export function describeBreak(problem: ChainBreak): string {
  const r = problem.record;
  const where =
    problem.seq === null
      ? "the chain head"
      : r
        ? `record seq ${problem.seq} (${r.action}${r.actor ? ` by ${r.actor}` : ""} at ${r.at}, id ${r.id})`
        : `record seq ${problem.seq}`;
  return `${where} is ${problem.kind}: ${problem.detail}`;
}
