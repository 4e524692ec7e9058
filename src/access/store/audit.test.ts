import assert from "node:assert/strict";
import { appendAudit, finishAudit, listAudit } from "./audit.js";
import { T0, at, newAccount, testOnEveryBackend } from "./store-fixture.js";
import type { StoreCase } from "./store-fixture.js";

const cases: StoreCase[] = [
  {
    name: "audit records are listed newest first and page backwards by seq",
    async run({ store }) {
      const { db } = store;
      const account = await newAccount(store);
      const other = await newAccount(store);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await appendAudit(db, { at: at(i), account_id: account.id, action: `a${i}`, result: "ok" }));
        await appendAudit(db, { at: at(i), account_id: other.id, action: "elsewhere", result: "ok" });
      }
      const first = await listAudit(db, account.id, { limit: 3 });
      assert.deepEqual(first.map((r) => r.id), [ids[4], ids[3], ids[2]]);
      assert.ok(first.every((r) => typeof r.seq === "number"));
      const last = first.at(-1);
      assert.ok(last !== undefined);
      const rest = await listAudit(db, account.id, { limit: 3, beforeSeq: last.seq });
      assert.deepEqual(rest.map((r) => r.id), [ids[1], ids[0]]);
    },
  },
  {
    name: "an audit record keeps a given id and gets one when none is given",
    async run({ store }) {
      const account = await newAccount(store);
      const given = await appendAudit(store.db, { id: "given-id-" + account.id, at: T0, account_id: account.id, action: "x", result: "ok" });
      assert.equal(given, "given-id-" + account.id);
      const generated = await appendAudit(store.db, { at: T0, account_id: account.id, action: "x", result: "ok" });
      assert.notEqual(generated, given);
    },
  },
  {
    name: "finishing an audit record stores its end, result and byte counts as numbers",
    async run({ store }) {
      const { db } = store;
      const account = await newAccount(store);
      const id = await appendAudit(db, {
        at: T0,
        account_id: account.id,
        actor: "ada",
        action: "tunnel.open",
        result: "ok",
        device: "plc",
        target: "10.0.0.5:502",
      });
      const big = 2 ** 40 + 7;
      await finishAudit(db, id, { endedAt: at(90), bytesUp: big, bytesDown: 12, result: "error", reason: "reset" });
      const [row] = await listAudit(db, account.id, { limit: 1 });
      assert.equal(row?.ended_at, at(90).toISOString());
      assert.equal(row?.bytes_up, big);
      assert.equal(row?.bytes_down, 12);
      assert.equal(row?.result, "error");
      assert.equal(row?.reason, "reset");
      assert.equal(row?.target, "10.0.0.5:502");
    },
  },
  {
    name: "finishing without a result keeps the original result",
    async run({ store }) {
      const account = await newAccount(store);
      const id = await appendAudit(store.db, { at: T0, account_id: account.id, action: "x", result: "ok" });
      await finishAudit(store.db, id, { endedAt: at(1), bytesUp: 0, bytesDown: 0 });
      const [row] = await listAudit(store.db, account.id, { limit: 1 });
      assert.equal(row?.result, "ok");
      assert.equal(row?.reason, null);
      assert.equal(row?.bytes_up, 0);
    },
  },
];

testOnEveryBackend(cases);
