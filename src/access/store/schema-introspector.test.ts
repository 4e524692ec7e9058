import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { openDatabase } from "./dialects.js";
import type { Store } from "./store.js";
import { POSTGRES_URL, uniqueName } from "./store-fixture.js";

let store: Store;
let schema: string;

before(async () => {
  schema = uniqueName("fernlink_introspect").replace(/-/g, "_");
  store = await openDatabase({ url: `${POSTGRES_URL}?schema=${schema}`, dataDir: tmpdir() });
});
after(async () => {
  await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
  await store.close();
});

test("introspection lists the tables of the store's own schema only", async () => {
  const tables = await store.db.introspection.getTables({ withInternalKyselyTables: true });
  assert.ok(tables.length > 5);
  assert.ok(tables.every((t) => t.schema === schema));
  assert.ok(tables.some((t) => t.name === "kysely_migration"));
  assert.ok((await store.db.introspection.getSchemas()).some((s) => s.name === schema));
});

test("introspection holds while other schemas are created and dropped at the same time", async () => {
  const churn = async (): Promise<void> => {
    for (let i = 0; i < 15; i++) {
      const other = uniqueName("fernlink_churn").replace(/-/g, "_");
      await sql`create schema ${sql.id(other)}`.execute(store.db);
      await sql`create table ${sql.id(other, "t")} (id serial primary key)`.execute(store.db);
      await sql`drop schema ${sql.id(other)} cascade`.execute(store.db);
    }
  };
  const look = async (): Promise<void> => {
    for (let i = 0; i < 60; i++) await store.db.introspection.getTables({ withInternalKyselyTables: true });
  };
  await Promise.all([churn(), churn(), look(), look()]);
});
