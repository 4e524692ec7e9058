import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { openDatabase } from "./dialects.js";
import { type StatementKind, statementKind } from "./query-timing.js";

test("a statement's kind is its first word when that is select, insert, update or delete, and other otherwise", () => {
  for (const [text, kind] of [
    ["select 1", "select"],
    ['  INSERT into "x" values (1)', "insert"],
    ["update x set y = 1", "update"],
    ["delete from x", "delete"],
    ["with t as (select 1) select * from t", "other"],
    ["begin", "other"],
    ["", "other"],
  ] as const)
    assert.equal(statementKind(text), kind, text);
});

test("a store opened with an observer reports each statement's kind, time and failure", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "fernlink-query-timing-"));
  const seen: { kind: StatementKind; seconds: number; failed: boolean }[] = [];
  const store = await openDatabase({ dataDir, onQuery: (kind, seconds, failed) => seen.push({ kind, seconds, failed }) });
  try {
    seen.length = 0;
    await sql`select 1`.execute(store.db);
    await assert.rejects(sql`select * from no_such_table`.execute(store.db));
    assert.equal(seen.length, 2);
    assert.deepEqual(
      seen.map(({ kind, failed }) => ({ kind, failed })),
      [
        { kind: "select", failed: false },
        { kind: "select", failed: true },
      ],
    );
    assert.ok(seen.every((s) => s.seconds >= 0 && s.seconds < 5));
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
