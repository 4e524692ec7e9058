import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import { BUSY_RETRY, retryWhileBusy } from "./busy-retry.js";

const busy = () => new FernlinkError("throttled", "too many logins at once from 127.0.0.1; try again in 1 second", { retryAfterSeconds: 1 });
const blocked = () => new FernlinkError("throttled", "too many failed logins from 127.0.0.1; try again in 15 minutes", { retryAfterSeconds: 900 });

describe("retryWhileBusy", () => {
  it("waits the server's Retry-After and tries again while the server is busy", async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryWhileBusy(
      async () => {
        if (++calls < 3) throw busy();
        return "session";
      },
      async (ms) => void waits.push(ms),
    );
    assert.equal(result, "session");
    assert.equal(waits.length, 2);
    assert.ok(waits.every((ms) => ms >= 1000 && ms < 1500));
  });

  it("passes a long wait, another error, or the last busy answer on at once", async () => {
    const noWait = async () => {};
    await assert.rejects(
      retryWhileBusy(async () => Promise.reject(blocked()), noWait),
      /15 minutes/,
    );
    await assert.rejects(
      retryWhileBusy(async () => Promise.reject(new FernlinkError("login-failed", "login failed")), noWait),
      { code: "login-failed" },
    );
    let calls = 0;
    await assert.rejects(
      retryWhileBusy(async () => {
        calls++;
        throw busy();
      }, noWait),
      { code: "throttled" },
    );
    assert.equal(calls, BUSY_RETRY.attempts);
  });
});
