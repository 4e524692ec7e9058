import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeReasonHeader, encodeReasonHeader, REASON_MAX_LENGTH, splitStreamNote, streamNote, validateReason } from "./connect-reason.js";
import { FernlinkError } from "./errors.js";

const invalid = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof FernlinkError && err.code === "invalid-input" && pattern.test(err.message));

describe("connect reason", () => {
  it("is trimmed, and up to 200 characters of one line are accepted, umlauts and all", () => {
    assert.equal(validateReason("  ticket 4711  "), "ticket 4711");
    assert.equal(validateReason("Störung Presse 7 – Rezept laden"), "Störung Presse 7 – Rezept laden");
    assert.equal(validateReason("ä".repeat(REASON_MAX_LENGTH)).length, REASON_MAX_LENGTH);
  });

  it("refuses an empty, too long, multi-line or control-character reason with what to do", () => {
    invalid(() => validateReason("   "), /empty; give one with --reason TEXT or FERNLINK_REASON/);
    invalid(() => validateReason("x".repeat(REASON_MAX_LENGTH + 1)), /longer than 200 characters; shorten it/);
    invalid(() => validateReason("one\ntwo"), /control character or line break/);
    invalid(() => validateReason("bell\u0007"), /control character/);
    invalid(() => validateReason("a\u2028b"), /line break/);
  });

  it("crosses the header as ASCII and comes back exactly; a header that is no percent-encoding, or hides a newline, is refused", () => {
    const reason = 'Ticket "4711"; Ölwechsel & 100% sicher';
    const header = encodeReasonHeader(reason);
    assert.match(header, /^[\x21-\x7e]+$/);
    assert.equal(decodeReasonHeader(header), reason);
    assert.equal(decodeReasonHeader(undefined), undefined);
    invalid(() => decodeReasonHeader("%E0%A4%A"), /not percent-encoded/);
    invalid(() => decodeReasonHeader("a%0Ab"), /line break/);
  });

  it("shares a stream record's note field and splits back out of it, notes with quotes included", () => {
    assert.equal(streamNote(undefined, null), null);
    assert.equal(streamNote(undefined, "ended abnormally: reset"), "ended abnormally: reset");
    for (const [reason, note] of [
      ['he said "go"; then', null],
      ["ticket 7", "bytes recorded; ended abnormally: reset"],
      ["back\\slash", 'forbidden: "x"'],
    ] as const) {
      assert.deepEqual(splitStreamNote(streamNote(reason, note)), { reason, note });
    }
    // Records without a reason keep their note as it was.
    assert.deepEqual(splitStreamNote("ended abnormally: reason unknown"), { reason: null, note: "ended abnormally: reason unknown" });
    assert.deepEqual(splitStreamNote(null), { reason: null, note: null });
  });
});
