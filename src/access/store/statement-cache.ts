import type BetterSqlite3 from "better-sqlite3";
import type { SqliteDatabase } from "kysely";

/** How many distinct SQL texts keep their prepared statement. */
const CACHED_STATEMENTS = 500;

/**
 * better-sqlite3 behind kysely, with prepared statements kept by their SQL text (least
 * recently used dropped past `size`). Kysely prepares every query anew, and preparing was 5 %
 * of the server's CPU while a fleet of agents reconnected. Reuse is safe because kysely
 * runs a statement to completion synchronously (`all`, `run`); nothing here streams rows.
 */
export function withStatementCache(database: BetterSqlite3.Database, size = CACHED_STATEMENTS): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(sql) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (cache.size >= size) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}
