import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../protocol/errors.js";
import { AGENT_KEEPALIVE } from "../protocol/tunnel-settings.js";
import { keepaliveTiming } from "./keepalive-profile.js";

describe("keepaliveTiming", () => {
  it("is the default PING timing without flags", () => {
    assert.deepEqual(keepaliveTiming({}), { intervalMs: AGENT_KEEPALIVE.intervalMs, timeoutMs: AGENT_KEEPALIVE.timeoutMs });
  });

  it("gives the cellular profile one PING every 5 minutes, 30 s to answer", () => {
    assert.deepEqual(keepaliveTiming({ profile: "cellular" }), { intervalMs: 300_000, timeoutMs: 30_000 });
  });

  it("lets --keepalive override the interval, with an answer time that grows with it", () => {
    assert.deepEqual(keepaliveTiming({ keepalive: "2" }), { intervalMs: 2_000, timeoutMs: 10_000 });
    assert.deepEqual(keepaliveTiming({ profile: "cellular", keepalive: "600" }), { intervalMs: 600_000, timeoutMs: 30_000 });
    assert.deepEqual(keepaliveTiming({ keepalive: "120" }), { intervalMs: 120_000, timeoutMs: 12_000 });
  });

  it("refuses what it cannot use, saying what to give", () => {
    for (const bad of ["0", "1.5", "-3", "abc", "3601", ""]) {
      assert.throws(
        () => keepaliveTiming({ keepalive: bad }),
        (err: unknown) => err instanceof UsageError && /whole seconds from 1 to 3600/.test(err.message),
      );
    }
    assert.throws(() => keepaliveTiming({ profile: "satellite" }), /one of: default, cellular/);
  });
});
