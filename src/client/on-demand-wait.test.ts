import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { WakeResponse } from "../protocol/api-on-demand.js";
import type { ApiClient } from "./api-client.js";
import { countdownText, givenUp, waitForCheckIn } from "./on-demand-wait.js";

const T0 = Date.parse("2030-01-01T10:00:00.000Z");
const due = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const asleep = (over: Partial<WakeResponse> = {}): WakeResponse => ({
  device: "press-7",
  online: false,
  onDemand: true,
  checkInSeconds: 300,
  lastCheckIn: due(-108),
  nextCheckIn: due(192),
  ...over,
});

describe("on-demand countdown", () => {
  it("shows minutes and seconds until the check-in is due, and how late it is after", () => {
    assert.equal(countdownText("press-7", due(192), T0), "waiting for press-7 to check in: 3:12 (Ctrl-C to stop)");
    assert.equal(countdownText("press-7", due(0.2), T0), "waiting for press-7 to check in: 0:01 (Ctrl-C to stop)");
    assert.equal(countdownText("press-7", due(-75), T0), "waiting for press-7 to check in: overdue by 1:15 (Ctrl-C to stop)");
  });

  it("gives up two intervals and a minute past the due check-in", () => {
    assert.equal(givenUp(asleep({ nextCheckIn: due(0) }), T0 + 660_000), false);
    assert.equal(givenUp(asleep({ nextCheckIn: due(0) }), T0 + 660_001), true);
    assert.equal(givenUp(asleep({ nextCheckIn: null, checkInSeconds: null, onDemand: false }), T0 + 1e9), false);
  });

  it("asks again until the device is online, counting down on a non-terminal, and stops at Ctrl-C", async () => {
    let clock = T0;
    const answers = [asleep(), asleep({ online: true })];
    const calls: string[] = [];
    const api = {
      call: async (method: string, path: string) => {
        calls.push(`${method} ${path}`);
        clock += 1000;
        return answers.shift();
      },
    } as unknown as ApiClient;
    const lines: string[] = [];
    await waitForCheckIn(api, asleep(), {
      signal: new AbortController().signal,
      out: { write: (t) => lines.push(t), isTTY: false },
      keepWaiting: false,
      now: () => clock,
    });
    assert.deepEqual(calls, ["POST /api/v1/devices/press-7/wake", "POST /api/v1/devices/press-7/wake"]);
    assert.deepEqual(lines, ["waiting for press-7 to check in: 3:12 (Ctrl-C to stop)\n", "press-7 checked in; connecting\n"]);

    const stop = new AbortController();
    const waiting = waitForCheckIn(api, asleep(), { signal: stop.signal, out: { write: () => {}, isTTY: true }, keepWaiting: true });
    stop.abort(new Error("interrupted"));
    await assert.rejects(waiting, /interrupted/);
  });

  it("without --wait, fails with what to do once the device is long overdue", async () => {
    const api = { call: async () => asleep({ nextCheckIn: due(-1000) }) } as unknown as ApiClient;
    await assert.rejects(
      waitForCheckIn(api, asleep({ nextCheckIn: due(-1000) }), {
        signal: new AbortController().signal,
        out: { write: () => {}, isTTY: false },
        keepWaiting: false,
        now: () => T0,
      }),
      (err: Error & { code?: string }) => err.code === "device-offline" && /did not check in .*pass --wait/.test(err.message),
    );
  });
});
