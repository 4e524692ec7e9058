import assert from "node:assert/strict";
import { test } from "node:test";
import { SourceLimit } from "./source-limit.js";

test("a source gets at most max slots, and a released slot can be taken again", () => {
  const limit = new SourceLimit(2);
  const first = limit.acquire("192.0.2.1");
  const second = limit.acquire("192.0.2.1");
  assert.ok(first && second);
  assert.equal(limit.acquire("192.0.2.1"), undefined);
  assert.ok(limit.acquire("192.0.2.2"), "another source is not affected");
  first();
  first();
  assert.equal(limit.count("192.0.2.1"), 1, "releasing twice gives back one slot");
  assert.ok(limit.acquire("192.0.2.1"));
});

test("the counts of a source go away with its last connection", () => {
  const limit = new SourceLimit(1);
  const release = limit.acquire("192.0.2.1")!;
  release();
  assert.equal(limit.count("192.0.2.1"), 0);
  assert.equal((limit as unknown as { counts: Map<string, number> }).counts.size, 0);
});

test("addresses of one IPv6 /64 share the limit", () => {
  const limit = new SourceLimit(1);
  assert.ok(limit.acquire("2001:db8:1:2::5"));
  assert.equal(limit.acquire("2001:db8:1:2:ffff::6"), undefined, "the same /64 shares the limit");
});
