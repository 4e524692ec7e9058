import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UsageError } from "../protocol/errors.js";
import { connectReason, REASON_QUESTION } from "./connect-reason-input.js";

const usage = (pattern: RegExp) => (err: unknown) => err instanceof UsageError && pattern.test(err.message);

describe("connect --reason", () => {
  it("takes the flag before FERNLINK_REASON, and needs neither unless the account requires one", async () => {
    assert.equal(await connectReason(" ticket 1 ", true, { env: "ticket 2", ask: undefined }), "ticket 1");
    assert.equal(await connectReason(undefined, true, { env: "ticket 2", ask: undefined }), "ticket 2");
    assert.equal(await connectReason(undefined, false, { env: "", ask: undefined }), undefined);
  });

  it("asks on a terminal when required, and without one says how to give it", async () => {
    const asked: string[] = [];
    const ask = async (q: string) => {
      asked.push(q);
      return "INC-42";
    };
    assert.equal(await connectReason(undefined, true, { env: undefined, ask }), "INC-42");
    assert.deepEqual(asked, [REASON_QUESTION]);
    await assert.rejects(
      connectReason(undefined, true, { env: undefined, ask: undefined }),
      usage(/^your account requires a reason for every connection; give one with --reason TEXT or FERNLINK_REASON/),
    );
  });

  it("names where a bad reason came from", async () => {
    await assert.rejects(connectReason("a\nb", false, { env: undefined, ask: undefined }), usage(/^--reason: .*line break/));
    await assert.rejects(connectReason(undefined, false, { env: "x".repeat(201), ask: undefined }), usage(/^FERNLINK_REASON: .*longer than 200/));
    await assert.rejects(connectReason(undefined, true, { env: undefined, ask: async () => " " }), usage(/^the reason given: .*empty/));
  });
});
