import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from "./backoff.js";

const opts: BackoffOptions = { baseMs: 500, maxMs: 30_000 };
const low = (): number => 0;
const high = (): number => 1 - Number.EPSILON;

describe("backoffDelay", () => {
  it("waits between half the base and the base before the first retry", () => {
    assert.equal(backoffDelay(0, opts, low), 250);
    assert.equal(backoffDelay(0, opts, high), 500);
  });

  const ceilings: [number, number][] = [
    [0, 500],
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 16_000],
    [6, 30_000],
    [7, 30_000],
    [50, 30_000],
    [10_000, 30_000],
  ];
  for (const [attempt, ceiling] of ceilings) {
    it(`caps attempt ${attempt} at ${ceiling} ms and never goes below 250 ms`, () => {
      assert.equal(backoffDelay(attempt, opts, high), ceiling);
      assert.equal(backoffDelay(attempt, opts, low), 250);
    });
  }

  it("grows with the attempt until it reaches the cap", () => {
    const delays = Array.from({ length: 12 }, (_, attempt) => backoffDelay(attempt, opts, high));
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! >= delays[i - 1]!, `attempt ${i}: ${delays.join(", ")}`);
    assert.ok(delays[5]! > delays[0]! * 16);
    assert.equal(delays.at(-1), opts.maxMs);
  });

  it("places the delay by the injected random number", () => {
    // attempt 2: range [250, 2000]; random 0.5 → 250 + 0.5 × 1750 = 1125
    assert.equal(
      backoffDelay(2, opts, () => 0.5),
      1125,
    );
    assert.equal(
      backoffDelay(2, opts, () => 0.25),
      Math.round(250 + 0.25 * 1750),
    );
    const draws: number[] = [];
    backoffDelay(3, opts, () => {
      draws.push(1);
      return 0.1;
    });
    assert.equal(draws.length, 1);
  });

  it("uses the defaults when no options are given", () => {
    assert.equal(backoffDelay(0, undefined, low), DEFAULT_BACKOFF.baseMs / 2);
    assert.equal(backoffDelay(100, undefined, high), DEFAULT_BACKOFF.maxMs);
  });

  it("stays within [base/2, min(max, base·2^attempt)] for any attempt, options and random draw", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, extra, r) => {
          const options = { baseMs, maxMs: baseMs + extra };
          const delay = backoffDelay(attempt, options, () => r);
          const ceiling = Math.min(options.maxMs, baseMs * 2 ** attempt);
          assert.ok(Number.isInteger(delay), `${delay} is not whole milliseconds`);
          assert.ok(delay >= baseMs / 2, `${delay} < ${baseMs / 2}`);
          assert.ok(delay <= ceiling, `${delay} > ${ceiling}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("is a finite number even for absurd attempt counts", () => {
    assert.equal(backoffDelay(Number.MAX_SAFE_INTEGER, opts, high), opts.maxMs);
  });
});
