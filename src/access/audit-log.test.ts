import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openTestAccess, TEST_BACKENDS, type TestAccess } from "./access-test-kit.js";
import { auditAggregate } from "./audit-log.js";
import type { AggregatedRefusal } from "./refusal-aggregator.js";

for (const backend of TEST_BACKENDS) {
  describe(`auditAggregate on ${backend}`, () => {
    let t: TestAccess;
    before(async () => {
      t = await openTestAccess(backend);
    });
    after(() => t.close());

    const refusal = (source: string, count: number): AggregatedRefusal => ({
      accountId: null,
      actor: null,
      source,
      action: "login",
      object: "acme/alice",
      result: "denied",
      reason: "bad-password",
      at: new Date("2030-01-01T00:01:00Z"),
      firstAt: new Date("2030-01-01T00:00:10Z"),
      count,
    });

    it("writes a window's single extra refusal as a plain record, and many as one counted record", async () => {
      auditAggregate(t.ctx, refusal("192.0.2.1", 1));
      auditAggregate(t.ctx, refusal("192.0.2.2", 7));
      await t.ctx.work.drain(5_000);
      const rows = await t.ctx.db.selectFrom("audit").select(["source", "count", "started_at"]).where("action", "=", "login").orderBy("source").execute();
      assert.deepEqual(
        rows.map((r) => [r.source, r.count === null ? null : Number(r.count), r.started_at !== null]),
        [
          ["192.0.2.1", null, false],
          ["192.0.2.2", 7, true],
        ],
      );
    });
  });
}
