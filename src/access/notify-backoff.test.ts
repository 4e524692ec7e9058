import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_RETRY, retryDelayMs } from "./notify-backoff.js";

test("retries wait twice as long each time, up to the cap, and stop after the last try", () => {
  const plain = () => 0;
  const policy = { baseMs: 1_000, maxMs: 10_000, attempts: 6 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(a, policy, plain)),
    [1_000, 2_000, 4_000, 8_000, 10_000, undefined],
  );
});

test("jitter takes off at most a fifth, never adds", () => {
  assert.equal(
    retryDelayMs(3, { baseMs: 1_000, maxMs: 60_000, attempts: 10 }, () => 0.999_999),
    3_200,
  );
  // A fifth off, rounded, can land on the bound itself: 10 s × (1 − 0.2 × 0.999 99) rounds to 8 s.
  assert.equal(
    retryDelayMs(2, DEFAULT_RETRY, () => 0.999_99),
    8_000,
  );
  for (let i = 0; i < 100; i++) {
    const d = retryDelayMs(2, DEFAULT_RETRY)!;
    assert.ok(d >= 8_000 && d <= 10_000, String(d));
  }
});

test("the default policy spans tens of minutes before giving up", () => {
  let total = 0;
  for (let a = 1; retryDelayMs(a, DEFAULT_RETRY, () => 0) !== undefined; a++) total += retryDelayMs(a, DEFAULT_RETRY, () => 0)!;
  assert.ok(total > 30 * 60_000 && total < 2 * 3_600_000, String(total));
});
