import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeKeepalivePing, encodeKeepalivePing, MAX_ANNOUNCED_INTERVAL_MS } from "./keepalive-ping.js";

describe("keep-alive PING payload", () => {
  it("round-trips the cellular timing", () => {
    const payload = encodeKeepalivePing({ intervalMs: 300_000, timeoutMs: 30_000 });
    assert.equal(payload.length, 8);
    assert.deepEqual(decodeKeepalivePing(payload), { intervalMs: 300_000, timeoutMs: 30_000 });
  });

  it("rounds up to tenths of a second and never announces zero", () => {
    assert.deepEqual(decodeKeepalivePing(encodeKeepalivePing({ intervalMs: 250, timeoutMs: 0 })), { intervalMs: 300, timeoutMs: 100 });
  });

  it("caps what it believes", () => {
    const timing = decodeKeepalivePing(encodeKeepalivePing({ intervalMs: 86_400_000, timeoutMs: 10_000 }));
    assert.equal(timing?.intervalMs, MAX_ANNOUNCED_INTERVAL_MS);
  });

  it("reads another payload as no announcement", () => {
    assert.equal(decodeKeepalivePing(Buffer.alloc(8)), undefined);
    assert.equal(decodeKeepalivePing(undefined), undefined);
    assert.equal(decodeKeepalivePing(Buffer.from("FK")), undefined);
  });
});
