import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SwitchState } from "../protocol/key-switch.js";
import { KeySwitch, type KeySwitchIO, type SwitchChange } from "./key-switch.js";
import type { SwitchReading } from "./switch-source.js";

/** An in-memory switch: readings from a variable, timers on a manual clock, a watch that tests fire. */
function fakeSwitch(first: SwitchReading) {
  let current = first;
  let reads = 0;
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  let watcher: (() => void) | undefined;
  let release: (() => void) | undefined;
  let hold = false;
  const io: KeySwitchIO = {
    read: async () => {
      reads++;
      if (hold) await new Promise<void>((r) => (release = r));
      return current;
    },
    setTimer: (fn, ms) => {
      const timer = { at: now + ms, fn, live: true };
      timers.push(timer);
      return () => {
        timer.live = false;
      };
    },
    watch: (changed) => {
      watcher = changed;
      return () => (watcher = undefined);
    },
  };
  return {
    io,
    set: (reading: SwitchReading) => {
      current = reading;
    },
    reads: () => reads,
    pendingTimers: () => timers.filter((t) => t.live).length,
    /** Moves the clock and runs the timers due, letting their readings finish. */
    advance: async (ms: number) => {
      now += ms;
      for (const t of timers.filter((t) => t.live && t.at <= now)) {
        t.live = false;
        t.fn();
      }
      await new Promise((r) => setImmediate(r));
    },
    fireWatch: () => watcher?.(),
    watching: () => watcher !== undefined,
    holdReads: () => {
      hold = true;
    },
    releaseRead: () => {
      hold = false;
      release?.();
    },
  };
}

const at = (state: SwitchState): SwitchReading => ({ state });

describe("key switch", () => {
  it("is off until its first reading, then at the position read", async () => {
    const fake = fakeSwitch(at("remote"));
    const ks = new KeySwitch(fake.io, { pollMs: 1000 });
    assert.equal(ks.state, "off");
    assert.equal(await ks.start(), "remote");
    assert.equal(ks.state, "remote");
  });

  it("reports each change once, with where it came from, on the next poll", async () => {
    const fake = fakeSwitch(at("remote"));
    const ks = new KeySwitch(fake.io, { pollMs: 1000 });
    const changes: SwitchChange[] = [];
    await ks.start();
    ks.onChange((c) => changes.push(c));
    fake.set(at("online"));
    await fake.advance(999);
    assert.deepEqual(changes, []);
    await fake.advance(1);
    assert.deepEqual(changes, [{ from: "remote", to: "online" }]);
    await fake.advance(1000);
    assert.deepEqual(changes, [{ from: "remote", to: "online" }], "an unchanged reading is no change");
    fake.set(at("off"));
    await fake.advance(1000);
    assert.deepEqual(changes.at(-1), { from: "online", to: "off" });
  });

  it("reads at once when the watch fires, without waiting for the poll", async () => {
    const fake = fakeSwitch(at("remote"));
    const ks = new KeySwitch(fake.io, { pollMs: 1000 });
    await ks.start();
    fake.set(at("online"));
    fake.fireWatch();
    await new Promise((r) => setImmediate(r));
    assert.equal(ks.state, "online");
    assert.equal(fake.pendingTimers(), 1, "the poll is rescheduled, not doubled");
  });

  it("fails closed: an unreadable switch is off, the problem told once, and the recovery told", async () => {
    const fake = fakeSwitch(at("remote"));
    const problems: (string | undefined)[] = [];
    const ks = new KeySwitch(fake.io, { pollMs: 1000, onProblem: (p) => problems.push(p) });
    await ks.start();
    fake.set({ problem: 'the switch file says "maybe"' });
    await fake.advance(1000);
    await fake.advance(1000);
    assert.equal(ks.state, "off");
    assert.deepEqual(problems, ['the switch file says "maybe"']);
    fake.set(at("online"));
    await fake.advance(1000);
    assert.equal(ks.state, "online");
    assert.deepEqual(problems, ['the switch file says "maybe"', undefined]);
  });

  it("treats a reader that throws as unreadable", async () => {
    const ks = new KeySwitch({ read: () => Promise.reject(new Error("boom")), setTimer: () => () => {} }, { pollMs: 1000, failState: "online" });
    assert.equal(await ks.start(), "online");
    assert.match(ks.problem ?? "", /boom/);
  });

  it("never runs two readings at once: a trigger during a reading is followed by exactly one more", async () => {
    const fake = fakeSwitch(at("remote"));
    const ks = new KeySwitch(fake.io, { pollMs: 1000 });
    await ks.start();
    fake.holdReads();
    const first = ks.refresh();
    fake.set(at("off"));
    void ks.refresh();
    void ks.refresh();
    assert.equal(fake.reads(), 2);
    fake.releaseRead();
    await first;
    assert.equal(fake.reads(), 3);
    assert.equal(ks.state, "off");
  });

  it("waits for a wanted position, and stops waiting when the signal aborts", async () => {
    const fake = fakeSwitch(at("off"));
    const ks = new KeySwitch(fake.io, { pollMs: 1000 });
    await ks.start();
    let done = false;
    const waiting = ks.waitFor((s) => s !== "off", new AbortController().signal).then(() => (done = true));
    await fake.advance(1000);
    assert.equal(done, false);
    fake.set(at("remote"));
    await fake.advance(1000);
    await waiting;
    assert.equal(done, true);
    const controller = new AbortController();
    const never = ks.waitFor((s) => s === "off", controller.signal);
    controller.abort();
    await never;
  });

  it("stops polling and watching when stopped", async () => {
    const fake = fakeSwitch(at("remote"));
    const ks = new KeySwitch(fake.io, { pollMs: 1000 });
    await ks.start();
    assert.ok(fake.watching());
    ks.stop();
    assert.equal(fake.watching(), false);
    assert.equal(fake.pendingTimers(), 0);
    await ks.refresh();
    assert.equal(fake.reads(), 1);
  });
});
