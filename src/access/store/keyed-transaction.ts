import type { Kysely } from "kysely";
import { PostgresAdapter, sql } from "kysely";
import type { Database } from "./schema.js";

/**
 * Runs `fn` in one transaction that no other `inKeyedTransaction` sharing one of `keys` runs
 * beside: what `fn` reads is still true when it writes, however many callers race.
 *
 * SQLite: `begin immediate` takes the database's write lock before the first read (a deferred
 * `begin` would let another connection write between our read and our write). PostgreSQL:
 * one advisory transaction lock per key, scoped to the schema and taken in sorted order so
 * two callers never wait on each other crosswise; they are released at commit or rollback.
 * Keep `fn` short and free of network waits: it holds those locks throughout.
 */
export async function inKeyedTransaction<T>(db: Kysely<Database>, keys: readonly string[], fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    return db.transaction().execute(async (trx) => {
      for (const key of [...new Set(keys)].sort()) {
        await sql`select pg_advisory_xact_lock(hashtext(current_schema()), hashtext(${key}))`.execute(trx);
      }
      return fn(trx);
    });
  }
  // Kysely's SQLite driver hands its one connection to a single caller at a time.
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (err) {
      await sql`rollback`.execute(conn);
      throw err;
    }
  });
}
