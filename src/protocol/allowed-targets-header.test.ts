import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FernlinkError } from "./errors.js";
import { allowedTargetsHeader, HEADER, readAllowedTargets } from "./stream-headers.js";
import { formatTargetEntry } from "./target-filter.js";

describe("the allowed-targets stream header", () => {
  it("round-trips a list of entries", () => {
    const entries = ["192.168.1.10:80,502", "[fd00::]/64:502", "plc.local", "10.0.0.0/8"];
    const read = readAllowedTargets({ [HEADER.allowedTargets]: allowedTargetsHeader(entries) });
    assert.deepEqual(read?.map(formatTargetEntry), entries);
  });

  it("reads an empty value as no allowed target at all", () => {
    assert.deepEqual(readAllowedTargets({ [HEADER.allowedTargets]: "" }), []);
  });

  it("reads a missing header as undefined, leaving the agent's allowlist alone to decide", () => {
    assert.equal(readAllowedTargets({}), undefined);
  });

  it("refuses a malformed entry with invalid-input", () => {
    assert.throws(
      () => readAllowedTargets({ [HEADER.allowedTargets]: "10.0.0.1:502 10.0.0.0/33" }),
      (err: unknown) => err instanceof FernlinkError && err.code === "invalid-input" && /10\.0\.0\.0\/33/.test(err.message),
    );
  });
});
