import pg from "pg";
import { redactUrl, SCHEMA_PARAM } from "../store/postgres.js";
import { DatabaseUnavailableError } from "../store/store.js";
import { BackupError } from "./manifest.js";

/** The schema a PostgreSQL URL names and its newest migration, read without changing anything (no schema is created). */
export async function readPostgresVersion(text: string): Promise<{ schema: string; migration: string }> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The text may hold a password, so it is not echoed.
    throw new BackupError("backup-source-missing", "the database URL is not a valid URL; expected postgres://user@host:port/db?schema=NAME");
  }
  const schema = url.searchParams.get(SCHEMA_PARAM) ?? "public";
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) throw new BackupError("backup-source-missing", `invalid ${SCHEMA_PARAM} "${schema}" in the database URL`);
  const connection = new URL(url);
  connection.searchParams.delete(SCHEMA_PARAM);
  const client = new pg.Client({ connectionString: connection.toString(), connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new DatabaseUnavailableError(`cannot connect to PostgreSQL at ${redactUrl(url)}; check that the server is running and the database URL is right`, {
      cause: err,
    });
  }
  try {
    // Safe to quote by hand: the schema name admits no quotes.
    const { rows } = await client.query<{ name: string }>(`select name from "${schema}".kysely_migration order by name desc limit 1`);
    const migration = rows[0]?.name;
    if (migration === undefined) throw new Error("no migration applied");
    return { schema, migration };
  } catch (err) {
    throw new BackupError("backup-source-missing", `schema "${schema}" of ${redactUrl(url)} holds no Fernlink database; check ?${SCHEMA_PARAM}= in the URL`, {
      cause: err,
    });
  } finally {
    await client.end().catch(() => {});
  }
}
