import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkLanRanges } from "./lan-ranges.js";

describe("checkLanRanges", () => {
  it("passes network ranges through without a warning", () => {
    assert.deepEqual(checkLanRanges("press-7", ["192.168.1.0/24", "10.10.0.0/16"]), { lan: ["192.168.1.0/24", "10.10.0.0/16"], warnings: [] });
  });

  it("takes a range with host bits set as its network and warns, naming the single-host form", () => {
    const { lan, warnings } = checkLanRanges("press-7", ["192.168.1.10/24"]);
    assert.deepEqual(lan, ["192.168.1.0/24"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /192\.168\.1\.0\/24.*192\.168\.1\.10\/32/);
  });

  it("warns when no range is given and says how to give several", () => {
    const { warnings } = checkLanRanges("press-7", []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /repeat --lan/);
  });

  it("refuses a malformed range as a usage error", () => {
    for (const bad of ["192.168.1.0/33", "192.168.1/24", "press-7", "10.0.0.0/8/8"]) {
      assert.throws(() => checkLanRanges("press-7", [bad]), { code: "usage" }, bad);
    }
  });
});
