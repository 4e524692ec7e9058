import { randomUUID } from "node:crypto";
import type { AuditRecord } from "../protocol/api.js";
import { appendAudit, listAudit } from "./store/audit.js";
import type { AccessContext, Principal } from "./context.js";
import type { AuditRow } from "./store/schema.js";

/** One administrative or security event to record. */
export interface AuditEvent {
  accountId: string | null;
  actor: string | null;
  source: string | null;
  action: string;
  object?: string | null;
  result: "ok" | "denied" | "error";
  reason?: string | null;
  device?: string | null;
  target?: string | null;
}

/** Appends an event; audit failures are logged, never thrown into the caller's path. */
export function audit(ctx: AccessContext, event: AuditEvent): Promise<string> {
  return ctx.work.track(writeAudit(ctx, event));
}

async function writeAudit(ctx: AccessContext, event: AuditEvent): Promise<string> {
  const id = randomUUID();
  try {
    await appendAudit(ctx.db, {
      id,
      at: ctx.now().toISOString(),
      account_id: event.accountId,
      actor: event.actor,
      source: event.source,
      action: event.action,
      object: event.object ?? null,
      result: event.result,
      reason: event.reason ?? null,
      device: event.device ?? null,
      target: event.target ?? null,
      ended_at: null,
      bytes_up: null,
      bytes_down: null,
    });
  } catch (err) {
    ctx.log.error("audit write failed", { action: event.action, error: String(err) });
  }
  return id;
}

/** An admin action by `who` on `object`. */
export function auditBy(ctx: AccessContext, who: Principal, action: string, object: string, result: AuditEvent["result"] = "ok", reason?: string): Promise<string> {
  return audit(ctx, { accountId: who.accountId, actor: who.userName, source: who.source, action, object, result, reason: reason ?? null });
}

function toRecord(row: AuditRow): AuditRecord {
  return {
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
    endedAt: row.ended_at,
    bytesUp: row.bytes_up,
    bytesDown: row.bytes_down,
  };
}

/** The latest records of the caller's account, newest first. */
export async function latestAudit(ctx: AccessContext, who: Principal, limit: number): Promise<AuditRecord[]> {
  return (await listAudit(ctx.db, who.accountId, { limit })).map(toRecord);
}
