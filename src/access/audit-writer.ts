import type { KeyObject } from "node:crypto";
import type { Kysely } from "kysely";
import { AUDIT_BATCH_MAX, type AuditInput, appendAudit, appendAuditBatch } from "./store/audit.js";
import type { AuditRow, Database } from "./store/schema.js";

interface Waiting {
  key: KeyObject;
  input: AuditInput;
  resolve: (row: AuditRow) => void;
  reject: (err: unknown) => void;
}

/**
 * Appends audit records in batches: what is asked for within one turn of the event loop, or
 * while the last batch is being written, goes into the next transaction together. Every stream
 * writes two records, and one transaction each (begin, head lock, insert, head update, commit)
 * was most of the server's work per stream. Records keep their order; the batch starts after
 * the current turn's I/O callbacks (setImmediate), so a stream's answer leaves before its
 * record is written. A batch that fails is written again record by record, so one bad record
 * fails alone.
 */
export class AuditWriter {
  readonly #db: Kysely<Database>;
  #queue: Waiting[] = [];
  #running = false;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  append(key: KeyObject, input: AuditInput): Promise<AuditRow> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ key, input, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const key = this.#queue[0]!.key;
        // One key per batch (a data directory has one; a test may use several).
        let n = 0;
        while (n < this.#queue.length && n < AUDIT_BATCH_MAX && this.#queue[n]!.key === key) n++;
        const batch = this.#queue.splice(0, n);
        await this.#write(key, batch);
      }
    } finally {
      this.#running = false;
    }
  }

  async #write(key: KeyObject, batch: Waiting[]): Promise<void> {
    if (batch.length > 1) {
      try {
        const rows = await appendAuditBatch(
          this.#db,
          key,
          batch.map((w) => w.input),
        );
        for (const [i, w] of batch.entries()) w.resolve(rows[i]!);
        return;
      } catch {
        // Written again one by one below: only the record at fault fails.
      }
    }
    for (const w of batch) await appendAudit(this.#db, key, w.input).then(w.resolve, w.reject);
  }
}

const writers = new WeakMap<Kysely<Database>, AuditWriter>();

/** The batching writer of a database (one per Kysely instance). */
export function auditWriterOf(db: Kysely<Database>): AuditWriter {
  let writer = writers.get(db);
  if (!writer) {
    writer = new AuditWriter(db);
    writers.set(db, writer);
  }
  return writer;
}
