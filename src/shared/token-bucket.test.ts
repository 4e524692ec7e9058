import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "./token-bucket.js";

describe("TokenBucket", () => {
  it("starts full, empties, and refills at its rate up to its burst", () => {
    let now = 0;
    const bucket = new TokenBucket(4, 2, () => now);
    assert.equal(bucket.isFull(), true);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
    assert.equal(bucket.waitMs(), 250);
    now += 250;
    assert.equal(bucket.waitMs(), 0);
    assert.deepEqual([bucket.take(), bucket.take()], [true, false]);
    now += 10_000;
    assert.equal(bucket.isFull(), true, "never more than the burst");
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
  });
});
