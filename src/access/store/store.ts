import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** The SQL engines the store runs on. */
export type StoreDialect = "sqlite" | "postgres";

/** An open, migrated database. */
export interface Store {
  db: Kysely<Database>;
  dialect: StoreDialect;
  close(): Promise<void>;
}

/** The database could not be reached or opened; the message says what to check. */
export class DatabaseUnavailableError extends Error {
  override readonly name = "DatabaseUnavailableError";
}
