import assert from "node:assert/strict";
import { describe, test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { withStatementCache } from "./statement-cache.js";

describe("SQLite statement cache", () => {
  test("one SQL text is prepared once; the least recently used is dropped past the size", () => {
    const database = new BetterSqlite3(":memory:");
    const cached = withStatementCache(database, 2);
    const a = cached.prepare("select 1 as one");
    assert.equal(cached.prepare("select 1 as one"), a);
    const b = cached.prepare("select 2 as two");
    cached.prepare("select 1 as one"); // a is now the most recently used
    cached.prepare("select 3 as three"); // drops b
    assert.equal(cached.prepare("select 1 as one"), a);
    assert.notEqual(cached.prepare("select 2 as two"), b);
    cached.close();
    assert.equal(database.open, false);
  });

  test("through kysely: repeated queries give current rows, also after the schema changed", async () => {
    const db = new Kysely<{ t: { id: number; name: string } }>({ dialect: new SqliteDialect({ database: withStatementCache(new BetterSqlite3(":memory:")) }) });
    await sql`create table t (id integer primary key, name text not null)`.execute(db);
    for (let i = 1; i <= 3; i++)
      await db
        .insertInto("t")
        .values({ id: i, name: `n${i}` })
        .execute();
    const all = (): Promise<unknown[]> => sql`select * from t order by id`.execute(db).then((r) => r.rows);
    assert.equal((await all()).length, 3);
    await sql`alter table t add column extra text default 'x'`.execute(db);
    assert.deepEqual((await all())[0], { id: 1, name: "n1", extra: "x" });
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom("t").where("id", "=", 1).execute();
      assert.equal((await sql`select * from t`.execute(trx)).rows.length, 2);
    });
    assert.equal((await all()).length, 2);
    await db.destroy();
  });
});
