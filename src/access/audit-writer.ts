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
 * record is written. A caller that does not wait for its record may allow it a while
 * (`withinMs`): the batch then waits for the earliest such limit, and records of streams that
 * open and close one after another share a transaction instead of taking one each. A batch
 * that fails is written again record by record, so one bad record fails alone.
 */
export class AuditWriter {
  readonly #db: Kysely<Database>;
  #queue: Waiting[] = [];
  #running = false;
  /** Cancels the waiting batch's start, if one is scheduled. */
  #cancel: (() => void) | undefined;
  /** When the waiting batch starts (ms, Date.now); Infinity when none is scheduled. */
  #due = Infinity;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Queues a record; it is written within `withinMs` (0: after this turn's I/O), or at once when a batch is full. */
  append(key: KeyObject, input: AuditInput, withinMs = 0): Promise<AuditRow> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ key, input, resolve, reject });
      // A running drain takes what is queued when its batch is done.
      if (!this.#running) this.#schedule(this.#queue.length >= AUDIT_BATCH_MAX ? 0 : withinMs);
    });
  }

  #schedule(withinMs: number): void {
    const due = Date.now() + withinMs;
    if (due >= this.#due) return;
    this.#cancel?.();
    this.#due = due;
    const start = (): void => {
      this.#cancel = undefined;
      this.#due = Infinity;
      this.#running = true;
      void this.#drain();
    };
    if (withinMs <= 0) {
      const immediate = setImmediate(start);
      this.#cancel = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(start, withinMs);
      this.#cancel = () => clearTimeout(timer);
    }
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
