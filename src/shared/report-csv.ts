import type { AuditRecord } from "../protocol/api.js";
import type { ConnectionRecord } from "../protocol/api-audit.js";
import { toCsv } from "./csv.js";

/** Columns of `fernlink audit --csv` and the portal's audit download. */
export const AUDIT_CSV_HEADER = [
  "seq",
  "time",
  "actor",
  "source",
  "action",
  "object",
  "result",
  "reason",
  "device",
  "target",
  "started",
  "ended",
  "bytes_up",
  "bytes_down",
  "count",
  "token",
] as const;

/** Columns of `fernlink report connections --csv` and the portal's report download. */
export const CONNECTIONS_CSV_HEADER = ["user", "source", "device", "target", "start", "end", "duration_s", "bytes_up", "bytes_down", "reason", "note"] as const;

/** Audit records as a CSV document, one line per record. */
export function auditCsv(records: readonly AuditRecord[]): string {
  return toCsv(
    AUDIT_CSV_HEADER,
    records.map((r) => [
      r.seq,
      r.at,
      r.actor,
      r.source,
      r.action,
      r.object,
      r.result,
      r.reason,
      r.device,
      r.target,
      r.startedAt,
      r.endedAt,
      r.bytesUp,
      r.bytesDown,
      r.count ?? 1,
      r.token,
    ]),
  );
}

/** Finished streams as a CSV document, one line per stream; the duration in seconds. */
export function connectionsCsv(rows: readonly ConnectionRecord[]): string {
  return toCsv(
    CONNECTIONS_CSV_HEADER,
    rows.map((r) => [r.user, r.source, r.device, r.target, r.start, r.end, r.durationMs / 1000, r.bytesUp, r.bytesDown, r.reason, r.note]),
  );
}
