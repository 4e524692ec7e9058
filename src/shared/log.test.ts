import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, throttled } from "./log.js";

test("a throttled log writes at most max lines per interval and then says how many it left out", () => {
  const lines: string[] = [];
  let clock = 0;
  const log = createLogger("test", { level: "debug", write: (line) => lines.push(line), now: () => new Date(0) });
  const warn = throttled(log.warn, { max: 2, intervalMs: 1000, now: () => clock });
  for (let i = 0; i < 5; i++) warn("client error", { n: i });
  assert.deepEqual(
    lines.map((l) => l.replace(/^\S+ /, "")),
    ["warn test: client error n=0", "warn test: client error n=1"],
  );
  clock = 1000;
  warn("client error", { n: 5 });
  warn("client error", { n: 6 });
  warn("client error", { n: 7 });
  assert.equal(lines[2], "1970-01-01T00:00:00.000Z warn test: client error n=5 leftOut=3");
  assert.equal(lines[3], "1970-01-01T00:00:00.000Z warn test: client error n=6");
  assert.equal(lines.length, 4);
});
