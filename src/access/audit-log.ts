import { randomUUID } from "node:crypto";
import type { AuditRecord } from "../protocol/api.js";
import type { AuditAction } from "./audit-actions.js";
import { auditWriterOf } from "./audit-writer.js";
import type { AccessContext, Principal } from "./context.js";
import type { AggregatedRefusal } from "./refusal-aggregator.js";
import { type AuditInput, appendAudit } from "./store/audit.js";
import type { AuditRow } from "./store/schema.js";

/** One administrative or security event to record. */
export interface AuditEvent {
  accountId: string | null;
  actor: string | null;
  source: string | null;
  action: AuditAction;
  object?: string | null;
  result: "ok" | "denied" | "error";
  reason?: string | null;
  device?: string | null;
  target?: string | null;
  /** When it happened; the context's clock when absent. */
  at?: Date;
  /** For a stream: when it opened (`at` is when it ended). */
  startedAt?: Date | null;
  endedAt?: Date | null;
  bytesUp?: number | null;
  bytesDown?: number | null;
  /** The API token the action was taken with: its name, never the token. */
  token?: string | null;
}

/**
 * Appends an event to its account's hash chain and returns the record id. Audit failures
 * are logged, never thrown into the caller's path. A refusal of an unauthenticated request
 * (a failed login, a refused registration) may instead be counted into a record that stands
 * for many (see refusal-aggregator.ts); then the id is "".
 */
export function audit(ctx: AccessContext, event: AuditEvent, options: WriteOptions = {}): Promise<string> {
  ctx.metrics?.auditEvent(event.action, event.result);
  if (event.result !== "ok" && ctx.refusals.covers(event.action)) {
    const at = event.at ?? ctx.now();
    const own = ctx.refusals.admit({
      accountId: event.accountId,
      actor: event.actor,
      source: event.source,
      action: event.action,
      object: event.object ?? null,
      result: event.result,
      reason: event.reason ?? null,
      at,
    });
    if (!own) return Promise.resolve("");
    return ctx.work.track(writeAudit(ctx, { ...event, at }, options));
  }
  return ctx.work.track(writeAudit(ctx, event, options));
}

/** Writes a record standing for `count` refusals; `startedAt` is the first of them, `at` the last. */
export function auditAggregate(ctx: AccessContext, r: AggregatedRefusal): void {
  // A single refusal is a plain record: the store takes a count only above 1.
  const { count, firstAt, ...refusal } = r;
  void ctx.work.track(writeAudit(ctx, { ...refusal, ...(count > 1 ? { startedAt: firstAt, count } : {}) }));
}

/** How soon a record must be written. */
export interface WriteOptions {
  /** A caller that does not wait for the record allows it this long, to share a batch (AuditWriter). */
  withinMs?: number;
}

async function writeAudit(ctx: AccessContext, event: AuditEvent & { count?: number }, options: WriteOptions = {}): Promise<string> {
  const id = randomUUID();
  try {
    const input: AuditInput = {
      id,
      at: event.at ?? ctx.now(),
      account_id: event.accountId,
      actor: event.actor,
      source: event.source,
      action: event.action,
      object: event.object ?? null,
      result: event.result,
      reason: event.reason ?? null,
      device: event.device ?? null,
      target: event.target ?? null,
      started_at: event.startedAt ?? null,
      ended_at: event.endedAt ?? null,
      bytes_up: event.bytesUp ?? null,
      bytes_down: event.bytesDown ?? null,
      count: event.count ?? null,
      token: event.token ?? null,
    };
    // Inside a caller's transaction the record joins it; otherwise it joins the next batch.
    await (ctx.db.isTransaction ? appendAudit(ctx.db, ctx.auditKey, input) : auditWriterOf(ctx.db).append(ctx.auditKey, input, options.withinMs));
  } catch (err) {
    ctx.metrics?.auditWriteFailed();
    ctx.log.error("audit write failed", { action: event.action, error: String(err) });
  }
  return id;
}

/** An admin action by `who` on `object`; one taken with an API token names the token. */
export function auditBy(
  ctx: AccessContext,
  who: Principal,
  action: AuditAction,
  object: string,
  result: AuditEvent["result"] = "ok",
  reason?: string,
): Promise<string> {
  return audit(ctx, {
    accountId: who.accountId,
    actor: who.userName,
    source: who.source,
    action,
    object,
    result,
    reason: reason ?? null,
    token: who.tokenName ?? null,
  });
}

/** A stored record as the API shows it. */
export function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    id: row.id,
    at: row.at,
    actor: row.actor,
    source: row.source,
    action: row.action,
    object: row.object,
    result: row.result,
    reason: row.reason,
    device: row.device,
    target: row.target,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    bytesUp: row.bytes_up,
    bytesDown: row.bytes_down,
    token: row.token,
    ...(row.count === null ? {} : { count: row.count }),
  };
}
