import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Acquired, ConcurrencyLimit, type Release } from "./concurrency-limit.js";

/** The release of a granted slot; fails the test on a refusal. */
function granted(acquired: Acquired): Release {
  assert.ok(acquired.release, `refused: ${JSON.stringify(acquired.refusal)}`);
  return acquired.release;
}

describe("ConcurrencyLimit", () => {
  it("refuses a key's slot past its own limit while other keys still get theirs", () => {
    const limit = new ConcurrencyLimit({ perKey: 2, total: 4 });
    granted(limit.tryAcquire("a"));
    granted(limit.tryAcquire("a"));
    assert.deepEqual(limit.tryAcquire("a").refusal, { full: "key", first: true });
    granted(limit.tryAcquire("b"));
    assert.equal(limit.inUse("a"), 2);
    assert.equal(limit.inUse(), 3);
  });

  it("refuses every key once the total is reached", () => {
    const limit = new ConcurrencyLimit({ perKey: 2, total: 3 });
    for (const key of ["a", "a", "b"]) granted(limit.tryAcquire(key));
    assert.deepEqual(limit.tryAcquire("c").refusal, { full: "total", first: true });
    assert.deepEqual(limit.tryAcquire("b").refusal, { full: "total", first: false });
    assert.deepEqual(limit.tryAcquire("a").refusal, { full: "key", first: true });
  });

  it("marks only the first refusal of a busy spell, and starts a new spell once a slot is released", () => {
    const limit = new ConcurrencyLimit({ perKey: 1, total: 4 });
    const release = granted(limit.tryAcquire("a"));
    assert.deepEqual(
      [1, 2, 3].map(() => limit.tryAcquire("a").refusal?.first),
      [true, false, false],
    );
    release();
    const again = granted(limit.tryAcquire("a"));
    assert.equal(limit.tryAcquire("a").refusal?.first, true);
    again();
  });

  it("gives a released slot to the next caller, and a second release frees nothing more", () => {
    const limit = new ConcurrencyLimit({ perKey: 1, total: 2 });
    const release = granted(limit.tryAcquire("a"));
    granted(limit.tryAcquire("b"));
    release();
    release();
    assert.equal(limit.inUse(), 1);
    granted(limit.tryAcquire("a"));
    assert.equal(limit.tryAcquire("c").refusal?.full, "total", "a double release must not make room for a third");
  });

  it("forgets keys that hold no slot", () => {
    const limit = new ConcurrencyLimit({ perKey: 2, total: 1000 });
    const releases = Array.from({ length: 500 }, (_, i) => granted(limit.tryAcquire(`10.0.${i >> 8}.${i & 255}`)));
    assert.equal(limit.keys, 500);
    for (const r of releases) r();
    assert.equal(limit.keys, 0);
    assert.equal(limit.inUse(), 0);
  });

  it("rejects limits that could never admit anyone or contradict each other", () => {
    assert.throws(() => new ConcurrencyLimit({ perKey: 0, total: 4 }), RangeError);
    assert.throws(() => new ConcurrencyLimit({ perKey: 3, total: 2 }), RangeError);
    assert.throws(() => new ConcurrencyLimit({ perKey: Number.NaN, total: 2 }), RangeError);
  });
});
