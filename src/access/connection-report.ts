import type { ConnectionRecord, ConnectionsQuery } from "../protocol/api-audit.js";
import { splitStreamNote } from "../protocol/connect-reason.js";
import type { AccessContext, Principal } from "./context.js";
import { ensureAdmin } from "./roles.js";
import { listAudit } from "./store/audit.js";
import type { AuditRow } from "./store/schema.js";

/**
 * The account's finished streams, newest first (admins only), read from the "stream" records
 * the relay writes when a stream closes. `since` keeps the streams still open at that time or later.
 */
export async function connectionReport(ctx: AccessContext, who: Principal, query: ConnectionsQuery): Promise<ConnectionRecord[]> {
  await ensureAdmin(ctx, who, "report.connections", "connections");
  const rows = await listAudit(ctx.db, who.accountId, {
    limit: query.limit,
    beforeSeq: query.before,
    actions: ["stream"],
    result: "ok",
    endedSince: query.since,
  });
  return rows.flatMap((row) => {
    const connection = toConnection(row);
    return connection ? [connection] : [];
  });
}

/** A finished stream's record as a connection; undefined for records that are not one. */
export function toConnection(row: AuditRow): ConnectionRecord | undefined {
  if (row.ended_at === null) return undefined;
  // Records from before the chain were written at the start and completed later.
  const start = row.started_at ?? row.at;
  const { reason, note } = splitStreamNote(row.reason);
  return {
    seq: row.seq,
    user: row.actor,
    source: row.source,
    device: row.device,
    target: row.target,
    start,
    end: row.ended_at,
    durationMs: Math.max(0, Date.parse(row.ended_at) - Date.parse(start)),
    bytesUp: row.bytes_up ?? 0,
    bytesDown: row.bytes_down ?? 0,
    reason,
    note,
  };
}
