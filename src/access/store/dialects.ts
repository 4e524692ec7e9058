import { migrateToLatest } from "./migrations.js";
import { openPostgres } from "./postgres.js";
import type { QueryObserver } from "./query-timing.js";
import { openSqlite } from "./sqlite.js";
import type { Store } from "./store.js";

/** Where the data lives: no `url` means SQLite in `<dataDir>/fernlink.db`. */
export interface OpenDatabaseOptions {
  /** `postgres://` or `postgresql://` URL; `?schema=NAME` puts the tables in schema NAME. */
  url?: string;
  dataDir: string;
  /** Told of every statement's kind and time (the store's query-time metric). */
  onQuery?: QueryObserver | undefined;
}

interface Opened {
  store: Store;
  /** Schema holding the tables, for engines that have schemas. */
  schema?: string;
}

type Opener = (url: URL, options: OpenDatabaseOptions) => Promise<Opened>;

async function postgres(url: URL, options: OpenDatabaseOptions): Promise<Opened> {
  const { schema, ...store } = await openPostgres(url, { onQuery: options.onQuery });
  return { store, schema };
}

/** The database engines, by URL scheme. */
const OPENERS: ReadonlyMap<string, Opener> = new Map([
  ["postgres:", postgres],
  ["postgresql:", postgres],
]);

/** Opens the configured database and migrates it to the latest schema. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Store> {
  const { store, schema } =
    options.url === undefined
      ? { store: await openSqlite(options.dataDir, { onQuery: options.onQuery }), schema: undefined }
      : await openByUrl(options.url, options);
  try {
    await migrateToLatest(store.db, store.dialect, schema);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function openByUrl(text: string, options: OpenDatabaseOptions): Promise<Opened> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The text may hold a password, so it is not echoed.
    throw new Error("the database URL is not a valid URL; expected postgres://user@host:port/db");
  }
  const open = OPENERS.get(url.protocol);
  if (open === undefined) {
    const known = [...OPENERS.keys()].map((s) => `${s}//`).join(", ");
    throw new Error(`unsupported database URL scheme "${url.protocol}"; use one of ${known}`);
  }
  return open(url, options);
}
