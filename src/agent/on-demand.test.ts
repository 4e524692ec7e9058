import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { Http2Server } from "node:http2";
import { describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import { createLogger } from "../shared/log.js";
import { IdleTracker } from "./idle-tracker.js";
import { runOnDemand } from "./on-demand.js";
import { onDemandTiming, parseDuration } from "./on-demand-options.js";

/** A clock that only moves when the loop waits, and a script of check-in answers. */
function harness(answers: boolean[], timing = { checkInMs: 300_000, idleMs: 600_000 }) {
  let clock = 0;
  const events: string[] = [];
  const controller = new AbortController();
  const server = new EventEmitter();
  let tunnelSignal: AbortSignal | undefined;
  const deps = {
    timing,
    log: createLogger("test", { write: () => {} }),
    signal: controller.signal,
    now: () => clock,
    wait: async (ms: number, signal: AbortSignal) => {
      if (signal.aborted) return;
      clock += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
    checkIn: async (every: number) => {
      events.push(`check-in ${every} at ${clock / 1000}`);
      const wanted = answers.shift();
      if (wanted === undefined) {
        controller.abort();
        return { wanted: false };
      }
      return { wanted };
    },
    runTunnel: async (signal: AbortSignal, onStreamServer: (s: Http2Server) => void) => {
      events.push(`tunnel up at ${clock / 1000}`);
      tunnelSignal = signal;
      onStreamServer(server as unknown as Http2Server);
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      events.push(`tunnel down at ${clock / 1000}`);
    },
  };
  return { deps, events, server, tunnel: () => tunnelSignal, advance: (ms: number) => (clock += ms) };
}

describe("runOnDemand", () => {
  it("holds no tunnel while nobody wants the device: one check-in per interval", async () => {
    const h = harness([false, false, false]);
    await runOnDemand(h.deps);
    assert.deepEqual(h.events, ["check-in 300 at 0", "check-in 300 at 300", "check-in 300 at 600", "check-in 300 at 900"]);
  });

  it("brings the tunnel up when wanted, and closes it after the idle time once nobody wants it", async () => {
    // wanted → tunnel; at idle end still wanted → another idle period; then not wanted → closed.
    const h = harness([true, true, false, false]);
    await runOnDemand(h.deps);
    assert.deepEqual(h.events, [
      "check-in 300 at 0",
      "tunnel up at 0",
      "check-in 300 at 600",
      "check-in 300 at 1200",
      "tunnel down at 1200",
      "check-in 300 at 1500",
      "check-in 300 at 1800",
    ]);
  });

  it("keeps the tunnel while a stream is open, however long", async () => {
    const h = harness([true, false], { checkInMs: 300_000, idleMs: 10_000 });
    const stream = new EventEmitter();
    const run = runOnDemand(h.deps);
    while (!h.tunnel()) await new Promise((resolve) => setImmediate(resolve));
    h.server.emit("stream", stream);
    for (let i = 0; i < 50 && h.events.length < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    // Much longer than the idle time passed with the stream open: no check-in asked to close it.
    assert.deepEqual(h.events, ["check-in 300 at 0", "tunnel up at 0"]);
    stream.emit("close");
    await run;
    assert.equal(h.events[2]?.startsWith("check-in 300 at "), true);
    assert.equal(h.events[3]?.startsWith("tunnel down at "), true);
  });

  it("stops on a revoked certificate, and reads other check-in failures as not wanted", async () => {
    const h = harness([]);
    let calls = 0;
    h.deps.checkIn = async () => {
      calls++;
      if (calls === 1) throw new FernlinkError("server-unreachable", "cannot reach");
      throw new FernlinkError("certificate-revoked", "revoked");
    };
    await assert.rejects(runOnDemand(h.deps), { code: "certificate-revoked" });
    assert.equal(calls, 2);
  });
});

describe("IdleTracker", () => {
  it("counts idle time from the last stream's close, and none while one is open", () => {
    let now = 0;
    const idle = new IdleTracker(() => now);
    now = 5;
    assert.equal(idle.idleMs(), 5);
    idle.opened();
    idle.opened();
    now = 100;
    assert.equal(idle.idleMs(), 0);
    idle.closed();
    assert.equal(idle.idleMs(), 0);
    idle.closed();
    now = 130;
    assert.equal(idle.idleMs(), 30);
    idle.touch();
    assert.equal(idle.idleMs(), 0);
  });
});

describe("on-demand flags", () => {
  it("reads minutes, or seconds and minutes with a unit, and has defaults of 5 and 10 minutes", () => {
    assert.equal(parseDuration("--check-in", "5", 86_400), 300_000);
    assert.equal(parseDuration("--check-in", "2s", 86_400), 2_000);
    assert.equal(parseDuration("--check-in", "3m", 86_400), 180_000);
    assert.deepEqual(onDemandTiming({}), { checkInMs: 300_000, idleMs: 600_000 });
  });

  it("refuses what it cannot use, saying what to give", () => {
    for (const bad of ["0", "0s", "1.5", "5h", "", "-1", "1441"]) assert.throws(() => parseDuration("--check-in", bad, 86_400), /whole minutes \(5\)/);
  });
});
