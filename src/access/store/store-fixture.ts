import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { sql } from "kysely";
import { createAccount } from "./accounts.js";
import { openDatabase } from "./dialects.js";
import type { Account } from "./schema.js";
import type { Store } from "./store.js";

/** Test PostgreSQL server (trust auth); each run works in a fresh schema of it. */
export const POSTGRES_URL = process.env["FERNLINK_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

/** A database under test; `reopen` opens the same database again (and migrates it again). */
export interface Backend {
  store: Store;
  reopen(): Promise<Store>;
}

/** One row of a test table run against every backend. */
export interface StoreCase {
  name: string;
  run(backend: Backend): Promise<void>;
}

interface BackendKind {
  label: string;
  /** Opens a fresh database of this kind for one test. */
  open(t: TestContext): Promise<Backend | undefined>;
}

function backend(
  t: TestContext,
  options: { url?: string; dataDir: string },
  store: Store,
  beforeClose: () => Promise<unknown> = () => Promise.resolve(),
): Backend {
  const opened = [store];
  t.after(async () => {
    try {
      await beforeClose();
    } finally {
      await Promise.all(opened.map((s) => s.close()));
    }
  });
  return {
    store,
    reopen: async () => {
      const again = await openDatabase(options);
      opened.push(again);
      return again;
    },
  };
}

const sqliteKind: BackendKind = {
  label: "SQLite",
  async open(t) {
    const dataDir = await mkdtemp(join(tmpdir(), "fernlink-store-"));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    return backend(t, { dataDir }, await openDatabase({ dataDir }));
  },
};

const postgresKind: BackendKind = {
  label: "PostgreSQL",
  async open(t) {
    const schema = `fernlink_test_${randomBytes(6).toString("hex")}`;
    const options = { url: `${POSTGRES_URL}?schema=${schema}`, dataDir: tmpdir() };
    // No skip when PostgreSQL is down: the store's tests exist to run on both databases.
    const store = await openDatabase(options);
    return backend(t, options, store, () => sql`drop schema ${sql.id(schema)} cascade`.execute(store.db));
  },
};

/** Runs the same cases on SQLite and on PostgreSQL, each in a fresh database. */
export function testOnEveryBackend(cases: readonly StoreCase[]): void {
  for (const kind of [sqliteKind, postgresKind]) {
    void test(`on ${kind.label}`, async (t) => {
      const opened = await kind.open(t);
      if (opened === undefined) return;
      for (const c of cases) await t.test(c.name, () => c.run(opened));
    });
  }
}

/** A name no other case uses, so cases can share one database. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Fixed clock origin for the tests. */
export const T0 = new Date("2030-01-01T00:00:00.000Z");

/** `seconds` after T0. */
export function at(seconds: number): Date {
  return new Date(T0.getTime() + seconds * 1000);
}

/** A fresh account to work in. */
export function newAccount(store: Store): Promise<Account> {
  return createAccount(store.db, { name: uniqueName("acme"), now: T0 });
}
