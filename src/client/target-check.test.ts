import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import { checkTargets } from "./target-check.js";

const reach = { device: "press-7", level: "connect" as const, targets: ["192.168.1.0/24", "10.0.0.5:502"] };
const code = (expected: string) => (err: unknown) => err instanceof FernlinkError && err.code === expected;

describe("checkTargets", () => {
  it("passes targets inside the LAN or a rule, and host names the agent resolves", () => {
    checkTargets(reach, [
      { host: "192.168.1.10", port: 502 },
      { host: "10.0.0.5", port: 502 },
      { host: "plc.local", port: 502 },
    ]);
  });

  it("refuses a target outside every entry, and a port a narrowed entry does not admit", () => {
    assert.throws(() => checkTargets(reach, [{ host: "192.168.2.10", port: 502 }]), code("target-not-allowed"));
    assert.throws(() => checkTargets(reach, [{ host: "10.0.0.5", port: 80 }]), code("target-not-allowed"));
  });

  it("refuses every target when the user may only see the device", () => {
    assert.throws(() => checkTargets({ device: "press-7", level: "view", targets: [] }, [{ host: "192.168.1.10", port: 502 }]), code("forbidden"));
  });
});
