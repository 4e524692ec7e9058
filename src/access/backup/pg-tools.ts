import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { redactUrl, SCHEMA_PARAM } from "../store/postgres.js";
import { BackupError } from "./manifest.js";

/**
 * PostgreSQL's own pg_dump and pg_restore for `server backup --pg-dump` and its restore. They
 * get the URL without Fernlink's `schema` parameter (libpq refuses unknown ones) and without
 * the password, which goes in PGPASSWORD: argv is visible to every user of the machine.
 */

const run = promisify(execFile);

/** The schema a URL names, its libpq form without schema and password, and the environment with PGPASSWORD. */
export function pgConnection(text: string): { schema: string; url: string; env: NodeJS.ProcessEnv; shown: string } {
  const url = new URL(text);
  const schema = url.searchParams.get(SCHEMA_PARAM) ?? "public";
  const libpq = new URL(url);
  libpq.searchParams.delete(SCHEMA_PARAM);
  libpq.password = "";
  const password = decodeURIComponent(url.password);
  const env = password === "" ? { ...process.env } : { ...process.env, PGPASSWORD: password };
  return { schema, url: libpq.toString(), env, shown: redactUrl(url) };
}

/** Writes `pg_dump --format=custom` of the URL's schema to `file`. */
export async function pgDump(dbUrl: string, file: string): Promise<void> {
  const c = pgConnection(dbUrl);
  await tool("pg_dump", ["--format=custom", `--schema=${c.schema}`, `--file=${file}`, "--no-password", c.url], c.env, c.shown);
}

/** Restores a dump into the URL's database in one transaction: all of it, or nothing (an existing schema makes it fail). */
export async function pgRestore(dbUrl: string, file: string): Promise<void> {
  const c = pgConnection(dbUrl);
  await tool("pg_restore", ["--single-transaction", "--exit-on-error", "--no-password", `--dbname=${c.url}`, file], c.env, c.shown);
}

async function tool(name: string, args: string[], env: NodeJS.ProcessEnv, shown: string): Promise<void> {
  try {
    await run(name, args, { env, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new BackupError("database-tool-failed", `${name} is not on PATH; install PostgreSQL's client tools (e.g. apt install postgresql-client)`, {
        cause: err,
      });
    }
    const lines = String(e.stderr ?? "")
      .trim()
      .split("\n");
    // pg_restore ends with the statement that failed; the line saying why comes before it.
    const why = (lines.find((line) => /error/i.test(line)) ?? lines.at(-1) ?? "").replace(/\s+/g, " ").slice(0, 300);
    const hint = name === "pg_restore" ? "; nothing was restored (one transaction): the schema must not exist yet" : "";
    throw new BackupError("database-tool-failed", `${name} failed for ${shown}: ${why}${hint}`, { cause: err });
  }
}
