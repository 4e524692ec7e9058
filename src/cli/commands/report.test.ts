import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration } from "./report.js";

test("durations read as seconds, minutes and hours", () => {
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(42_400), "42s");
  assert.equal(formatDuration(187_000), "3m07s");
  assert.equal(formatDuration(2 * 3600_000 + 5 * 60_000), "2h05m00s");
});
