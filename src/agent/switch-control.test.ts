import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import type { SwitchState } from "../protocol/key-switch.js";
import { createLogger } from "../shared/log.js";
import { KeySwitch } from "./key-switch.js";
import { switchControl } from "./switch-control.js";

const log = createLogger("test", { level: "error" });

/** A switch whose position the test sets; readings happen on refresh(). */
async function manualSwitch(first: SwitchState) {
  let position = first;
  const ks = new KeySwitch({ read: async () => ({ state: position }), setTimer: () => () => {} }, { pollMs: 1000 });
  await ks.start();
  return {
    ks,
    turn: async (to: SwitchState) => {
      position = to;
      await ks.refresh();
    },
  };
}

describe("switch control", () => {
  it("without a switch, lets streams pass and is never off", () => {
    const control = switchControl(undefined, async () => {}, log);
    control.gate.check();
    assert.equal(control.isOff(), false);
  });

  it("closes open streams on a turn to online, refuses new ones, and reports the turn", async () => {
    const { ks, turn } = await manualSwitch("remote");
    const sent: SwitchState[] = [];
    const control = switchControl(ks, async (s) => void sent.push(s), log);
    const stream = new PassThrough();
    stream.on("error", () => {});
    control.gate.track(stream);
    await turn("online");
    assert.ok(stream.destroyed);
    assert.throws(() => control.gate.check());
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sent, ["online"]);
    await turn("remote");
    control.gate.check();
  });

  it("fires a connection's guard when the switch turns off, and at once when it already is", async () => {
    const { ks, turn } = await manualSwitch("remote");
    const control = switchControl(ks, async () => {}, log);
    const parent = new AbortController();
    const guard = control.guard(parent.signal);
    assert.equal(guard.signal.aborted, false);
    await turn("online");
    assert.equal(guard.signal.aborted, false);
    await turn("off");
    assert.equal(guard.signal.aborted, true);
    assert.equal(await guard.off, "switched-off");
    guard.dispose();
    assert.equal(control.guard(parent.signal).signal.aborted, true);
  });

  it("holds the run loop while off and lets it go when the switch turns", async () => {
    const { ks, turn } = await manualSwitch("off");
    const control = switchControl(ks, async () => {}, log);
    let released = false;
    const waiting = control.waitWhileOff(new AbortController().signal).then(() => (released = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(released, false);
    await turn("remote");
    await waiting;
    assert.equal(released, true);
  });

  it("tells the service the position at a tunnel up only until it has it", async () => {
    const { ks } = await manualSwitch("online");
    const sent: SwitchState[] = [];
    const control = switchControl(ks, async (s) => void sent.push(s), log);
    control.tunnelUp();
    await new Promise((r) => setImmediate(r));
    control.tunnelUp();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sent, ["online"]);
  });
});
