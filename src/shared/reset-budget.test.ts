import assert from "node:assert/strict";
import type { ClientHttp2Stream } from "node:http2";
import { describe, it } from "node:test";
import { ResetBudget } from "./reset-budget.js";

/** Just what the budget touches of a stream: its state, close() and resume(). */
type Fake = ClientHttp2Stream & { resets: number[]; finish(): void };

function fakeStream(): Fake {
  const stream = {
    closed: false,
    destroyed: false,
    resets: [] as number[],
    close(code: number) {
      stream.resets.push(code);
      stream.closed = true;
    },
    resume() {
      return stream;
    },
    finish() {
      stream.closed = true;
    },
  };
  return stream as unknown as Fake;
}

describe("ResetBudget", () => {
  it("resets at once within its burst, queues the rest, and resets them as the budget refills", () => {
    let now = 0;
    const budget = new ResetBudget({ ratePerSecond: 1, burst: 2 }, () => now);
    const streams = [fakeStream(), fakeStream(), fakeStream(), fakeStream()];
    for (const s of streams) budget.reset(s);
    assert.deepEqual(
      streams.map((s) => s.resets.length),
      [1, 1, 0, 0],
    );
    assert.equal(budget.waiting, 2);
    now += 1000;
    budget.drain();
    assert.deepEqual(
      streams.map((s) => s.resets.length),
      [1, 1, 1, 0],
    );
    streams[3]!.finish();
    now += 1000;
    budget.drain();
    assert.equal(budget.waiting, 0, "a stream that closed meanwhile costs nothing");
    assert.deepEqual(
      streams.map((s) => s.resets.length),
      [1, 1, 1, 0],
    );
  });

  it("ignores streams that are already closed", () => {
    const budget = new ResetBudget({ ratePerSecond: 1, burst: 1 }, () => 0);
    const stream = fakeStream();
    stream.finish();
    budget.reset(stream);
    assert.deepEqual(stream.resets, []);
    assert.equal(budget.waiting, 0);
  });
});
