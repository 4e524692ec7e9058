import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { AuditRow, Database, NewAuditRow } from "./schema.js";
import { iso } from "./time.js";
import type { Instant } from "./time.js";

/** An audit record to append; `seq` is assigned by the database and `id` generated if absent. */
export type AuditInput = Omit<NewAuditRow, "seq" | "id" | "at"> & { id?: string; at: Instant };

/** How a long-running audited action (such as a tunnel) ended. */
export interface AuditFinish {
  endedAt: Instant;
  bytesUp: number;
  bytesDown: number;
  result?: AuditRow["result"];
  reason?: string | null;
}

/** Appends an audit record and returns its id. */
export async function appendAudit(db: Kysely<Database>, record: AuditInput): Promise<string> {
  const id = record.id ?? randomUUID();
  await db
    .insertInto("audit")
    .values({ ...record, id, at: iso(record.at) })
    .execute();
  return id;
}

/** Completes the record `id` with its end time and byte counts (and, if given, a new result). */
export async function finishAudit(
  db: Kysely<Database>,
  id: string,
  finish: AuditFinish,
): Promise<void> {
  await db
    .updateTable("audit")
    .set({
      ended_at: iso(finish.endedAt),
      bytes_up: finish.bytesUp,
      bytes_down: finish.bytesDown,
      ...(finish.result === undefined ? {} : { result: finish.result }),
      ...(finish.reason === undefined ? {} : { reason: finish.reason }),
    })
    .where("id", "=", id)
    .execute();
}

/** The account's audit records, newest first; pass the last `seq` seen as `beforeSeq` to page. */
export function listAudit(
  db: Kysely<Database>,
  accountId: string,
  page: { limit: number; beforeSeq?: number },
): Promise<AuditRow[]> {
  let query = db.selectFrom("audit").selectAll().where("account_id", "=", accountId);
  if (page.beforeSeq !== undefined) query = query.where("seq", "<", page.beforeSeq);
  return query.orderBy("seq", "desc").limit(page.limit).execute();
}
