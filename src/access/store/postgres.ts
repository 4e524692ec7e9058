import { CompiledQuery, type DatabaseIntrospector, Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { type QueryObserver, queryLog } from "./query-timing.js";
import type { Database } from "./schema.js";
import { SchemaIntrospector } from "./schema-introspector.js";
import type { Store } from "./store.js";
import { DatabaseUnavailableError } from "./store.js";

/** Query parameter of a PostgreSQL URL that selects the schema Fernlink's tables live in. */
export const SCHEMA_PARAM = "schema";

const INT8_OID = 20;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A PostgreSQL store plus the schema its tables and migration bookkeeping live in. */
export interface PostgresStore extends Store {
  schema: string;
}

/** The URL without password or query, safe to show in messages and logs. */
export function redactUrl(url: URL): string {
  const user = url.username === "" ? "" : `${url.username}@`;
  return `${url.protocol}//${user}${url.host}${url.pathname}`;
}

/**
 * Connects to `postgres://user:pass@host:port/db?schema=NAME` (schema defaults to "public"),
 * creating the schema if missing. Every pooled connection gets `search_path` set to it.
 */
export async function openPostgres(url: URL, options: { onQuery?: QueryObserver | undefined } = {}): Promise<PostgresStore> {
  const schema = url.searchParams.get(SCHEMA_PARAM) ?? "public";
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`invalid ${SCHEMA_PARAM} "${schema}" in database URL: use letters, digits and _`);
  }
  const db = new Kysely<Database>({ dialect: postgresDialect(url, schema), ...queryLog(options.onQuery) });
  try {
    await ensureSchema(db, schema, url);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, dialect: "postgres", schema, close: () => db.destroy() };
}

/** PostgreSQL as Kysely speaks it, with introspection kept to our schema (see schema-introspector.ts). */
class SchemaPostgresDialect extends PostgresDialect {
  constructor(
    config: ConstructorParameters<typeof PostgresDialect>[0],
    private readonly schema: string,
  ) {
    super(config);
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect interface declares it so
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SchemaIntrospector(db, this.schema);
  }
}

function postgresDialect(url: URL, schema: string): PostgresDialect {
  // pg would send unknown query parameters to the server as connection settings.
  const connection = new URL(url);
  connection.searchParams.delete(SCHEMA_PARAM);
  const pool = new pg.Pool({
    connectionString: connection.toString(),
    connectionTimeoutMillis: 10_000,
    // bigint (count(*), bigserial, byte counters) as a JS number, for this pool only.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID && format !== "binary" ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // A client whose server went away emits "error", which kills the process if unheard. Idle,
  // the pool hears it (its "error" below); checked out (a query or a transaction under way)
  // nobody does: pg fails the query, and the pool drops the client when it comes back.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  return new SchemaPostgresDialect(
    {
      pool,
      onCreateConnection: async (conn) => {
        // Safe to quote by hand: SCHEMA_NAME admits no quotes.
        await conn.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`));
      },
    },
    schema,
  );
}

async function ensureSchema(db: Kysely<Database>, schema: string, url: URL): Promise<void> {
  let exists: boolean;
  try {
    const { rows } = await sql<{ exists: boolean }>`
      select exists (select 1 from pg_namespace where nspname = ${schema}) as exists
    `.execute(db);
    exists = rows[0]?.exists === true;
  } catch (err) {
    throw new DatabaseUnavailableError(
      `cannot connect to PostgreSQL at ${redactUrl(url)} (${describe(err, url)}); check that the server is running and the database URL is right`,
      { cause: err },
    );
  }
  // Checked first because CREATE SCHEMA IF NOT EXISTS needs CREATE privilege even when it exists.
  if (exists) return;
  try {
    await db.schema.createSchema(schema).ifNotExists().execute();
  } catch (err) {
    // Two nodes starting at once both find no schema; IF NOT EXISTS does not stop the slower
    // one's catalog insert from failing (23505, or 42P06). The schema exists: that is all we need.
    const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
    if (code !== "23505" && code !== "42P06") throw err;
  }
}

function describe(err: unknown, url: URL): string {
  // Connecting to a name with several addresses fails with an AggregateError and no message.
  if (err instanceof AggregateError && err.message === "" && err.errors.length > 0) {
    return describe(err.errors[0], url);
  }
  const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
  const message = (err instanceof Error ? err.message : String(err)) || code || "unknown error";
  const oneLine = message.replace(/\s+/g, " ").trim();
  const password = decodeURIComponent(url.password);
  return password === "" ? oneLine : oneLine.split(password).join("***");
}
