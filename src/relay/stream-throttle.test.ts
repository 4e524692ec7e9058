import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StreamThrottle, THROTTLE_REPORT_WINDOW_MS } from "./stream-throttle.js";

describe("StreamThrottle", () => {
  it("allows a burst, then the sustained rate, per user and device", () => {
    let now = 0;
    const throttle = new StreamThrottle({ perSecond: 10, burst: 3 }, () => now);
    assert.deepEqual(
      [1, 2, 3].map(() => throttle.check("u1", "press-7").allowed),
      [true, true, true],
    );
    assert.equal(throttle.check("u1", "press-7").allowed, false);
    assert.equal(throttle.check("u2", "press-7").allowed, true, "another user of the device is not affected");
    assert.equal(throttle.check("u1", "press-8").allowed, true, "the user's other devices are not affected");
    now += 100;
    assert.equal(throttle.check("u1", "press-7").allowed, true, "one more after a tenth of a second");
    assert.equal(throttle.check("u1", "press-7").allowed, false);
  });

  it("marks one refusal per window for the record and says when to retry", () => {
    let now = 0;
    const throttle = new StreamThrottle({ perSecond: 1, burst: 1 }, () => now);
    throttle.check("u", "d");
    const first = throttle.check("u", "d");
    const second = throttle.check("u", "d");
    assert.deepEqual(first, { allowed: false, report: true, retryAfterMs: 1000 });
    assert.deepEqual(second, { allowed: false, report: false, retryAfterMs: 1000 });
    now += THROTTLE_REPORT_WINDOW_MS;
    throttle.check("u", "d");
    assert.deepEqual(throttle.check("u", "d"), { allowed: false, report: true, retryAfterMs: 1000 });
  });

  it("forgets pairs at rest once it tracks many", () => {
    let now = 0;
    const throttle = new StreamThrottle({ perSecond: 100, burst: 5 }, () => now);
    for (let i = 0; i < 1024; i++) throttle.check(`u${i}`, "d");
    now += 1000;
    throttle.check("newcomer", "d");
    assert.equal(throttle.size, 1);
  });
});
