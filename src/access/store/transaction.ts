import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";

/**
 * Runs `fn` in one transaction, committed when it resolves and rolled back when it throws.
 * On SQLite the single connection is held throughout, so keep network waits out of `fn`.
 */
export function inTransaction<T>(store: { db: Kysely<Database> }, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return store.db.transaction().execute(fn);
}
