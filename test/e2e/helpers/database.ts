import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import type { Site } from "./fernlink.js";

/** Base URL of the test PostgreSQL (trust auth, database `test`). */
export const POSTGRES_URL = process.env["FERNLINK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** The two stores a server can run on; e2e files that must cover both loop over this. */
export const BACKENDS = ["SQLite", "PostgreSQL"] as const;

/** One of {@link BACKENDS}. */
export type Backend = (typeof BACKENDS)[number];

/** What a statement run behind the server's back returned. */
export interface SqlResult {
  rows: Record<string, unknown>[];
  /** Rows inserted, updated or deleted. */
  changes: number;
}

/** `Site.start` options for `backend`: a `--db` URL with `schema` on PostgreSQL, none on SQLite. */
export function siteOptions(backend: Backend, schema: string): { db?: string } {
  return backend === "PostgreSQL" ? { db: `${POSTGRES_URL}?schema=${schema}` } : {};
}

/** The schema named in a `--db` URL (`?schema=`), defaulting to PostgreSQL's own. */
function schemaOf(dbUrl: string): { url: string; schema: string } {
  const url = new URL(dbUrl);
  const schema = url.searchParams.get("schema") ?? "public";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) throw new Error(`unexpected schema name "${schema}" in ${dbUrl}`);
  url.searchParams.delete("schema");
  return { url: url.toString(), schema };
}

async function withPg<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs one statement directly on the database of `site`, whichever backend it uses:
 * better-sqlite3 on `DATA/fernlink.db`, or pg in the site's schema. Parameters are written
 * `$1`, `$2`… for both. Used to move times the CLI has no flag for (expiry, idle).
 */
export async function sql(site: Site, statement: string, params: unknown[] = []): Promise<SqlResult> {
  if (site.db === undefined) {
    const db = new Database(join(site.dataDir, "fernlink.db"));
    try {
      db.pragma("busy_timeout = 5000");
      // `$n` → `?`, with the values in the order the placeholders appear.
      const values = [...statement.matchAll(/\$(\d+)/g)].map((m) => params[Number(m[1]) - 1]);
      const prepared = db.prepare(statement.replace(/\$\d+/g, "?"));
      if (prepared.reader) return { rows: prepared.all(...values) as Record<string, unknown>[], changes: 0 };
      return { rows: [], changes: prepared.run(...values).changes };
    } finally {
      db.close();
    }
  }
  const { url, schema } = schemaOf(site.db);
  return withPg(url, async (client) => {
    await client.query(`set search_path to "${schema}"`);
    const result = await client.query(statement, params);
    return { rows: result.rows as Record<string, unknown>[], changes: result.rowCount ?? 0 };
  });
}

/** Drops a test's PostgreSQL schema and everything in it; a missing schema is fine. */
export async function dropSchema(schema: string): Promise<void> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) throw new Error(`unexpected schema name "${schema}"`);
  await withPg(POSTGRES_URL, async (client) => {
    await client.query(`drop schema if exists "${schema}" cascade`);
  });
}
