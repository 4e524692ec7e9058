import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { byNaturalName, naturalCompare } from "./natural-order.js";

describe("natural order", () => {
  it("puts numbers in names in numeric order", () => {
    const names = ["press-10", "press-7", "Press-8", "press-100", "line-2.10", "line-2.9", "press-07"];
    assert.deepEqual([...names].sort(naturalCompare), ["line-2.9", "line-2.10", "press-07", "press-7", "Press-8", "press-10", "press-100"]);
  });

  it("orders records by name and is total: names that read alike still have a fixed order", () => {
    assert.deepEqual(
      byNaturalName([{ name: "b" }, { name: "B" }, { name: "a" }]).map((r) => r.name),
      byNaturalName([{ name: "B" }, { name: "a" }, { name: "b" }]).map((r) => r.name),
    );
  });
});
