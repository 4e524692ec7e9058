import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isOnDemand, isWanted, wakeView, wishUntil } from "./on-demand-state.js";
import type { DeviceCheckIn } from "./store/device-check-ins.js";

const T0 = new Date("2030-01-01T10:00:00.000Z");
const after = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const row = (over: Partial<DeviceCheckIn> = {}): DeviceCheckIn => ({
  deviceId: "d1",
  intervalSeconds: 300,
  checkedInAt: T0.toISOString(),
  wantedUntil: null,
  ...over,
});

describe("on-demand state", () => {
  it("counts a device as on demand for three intervals and a minute after its last check-in", () => {
    assert.equal(isOnDemand(row(), after(0)), true);
    assert.equal(isOnDemand(row(), after(960)), true);
    assert.equal(isOnDemand(row(), after(961)), false);
    assert.equal(isOnDemand(undefined, after(0)), false);
    // A wish for a device that never checked in is no check-in.
    assert.equal(isOnDemand(row({ intervalSeconds: 0 }), after(0)), false);
  });

  it("wants the device until the wish runs out, inclusive", () => {
    assert.equal(isWanted(row(), after(0)), false);
    assert.equal(isWanted(row({ wantedUntil: after(10).toISOString() }), after(10)), true);
    assert.equal(isWanted(row({ wantedUntil: after(10).toISOString() }), after(11)), false);
  });

  it("makes one ask last past the agent's next check-in, assuming 5 minutes for an agent never seen", () => {
    assert.deepEqual(wishUntil(row({ intervalSeconds: 2 }), after(0)), after(62));
    assert.deepEqual(wishUntil(undefined, after(0)), after(360));
  });

  it("tells a waiting user when the next check-in is due, even when it is overdue", () => {
    assert.deepEqual(wakeView("press-7", row(), false, after(100)), {
      device: "press-7",
      online: false,
      onDemand: true,
      checkInSeconds: 300,
      lastCheckIn: T0.toISOString(),
      nextCheckIn: after(300).toISOString(),
    });
    assert.equal(wakeView("press-7", row(), false, after(400)).nextCheckIn, after(300).toISOString());
    assert.deepEqual(wakeView("press-7", undefined, true, after(0)), {
      device: "press-7",
      online: true,
      onDemand: false,
      checkInSeconds: null,
      lastCheckIn: null,
      nextCheckIn: null,
    });
  });
});
