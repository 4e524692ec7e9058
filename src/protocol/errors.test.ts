import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ERROR_STATUS, errorMessage, FernlinkError, isErrorCode, isFernlinkError, UsageError, type ErrorCode } from "./errors.js";

const CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

describe("isErrorCode", () => {
  for (const code of CODES) {
    it(`knows "${code}"`, () => assert.equal(isErrorCode(code), true));
  }

  const notCodes: unknown[] = [
    undefined,
    null,
    "",
    "Internal",
    "INTERNAL",
    " internal",
    "usage",
    "invalid-target",
    "toString",
    "constructor",
    "__proto__",
    "hasOwnProperty",
    500,
    ["internal"],
    { code: "internal" },
  ];
  for (const value of notCodes) {
    it(`rejects ${JSON.stringify(value) ?? String(value)}`, () => assert.equal(isErrorCode(value), false));
  }
});

describe("FernlinkError", () => {
  for (const code of CODES) {
    it(`carries code "${code}" and its status ${ERROR_STATUS[code]}`, () => {
      const err = new FernlinkError(code, "something happened");
      assert.equal(err.code, code);
      assert.equal(err.status, ERROR_STATUS[code]);
      assert.equal(err.message, "something happened");
      assert.equal(err.name, "FernlinkError");
      assert.ok(err instanceof Error);
    });
  }

  it("maps every code to an HTTP error status", () => {
    for (const code of CODES) assert.ok(ERROR_STATUS[code] >= 400 && ERROR_STATUS[code] <= 599, code);
  });

  it("keeps the cause it was given", () => {
    const cause = new Error("root");
    assert.equal(new FernlinkError("internal", "wrapped", { cause }).cause, cause);
  });
});

describe("isFernlinkError", () => {
  it("is true for FernlinkError instances", () => {
    assert.equal(isFernlinkError(new FernlinkError("not-found", "gone")), true);
  });

  it("is true for subclasses", () => {
    class Special extends FernlinkError {}
    assert.equal(isFernlinkError(new Special("conflict", "x")), true);
  });

  const lookalikes: [string, unknown][] = [
    ["a plain object with a code", { code: "internal", status: 500, message: "x", name: "FernlinkError" }],
    ["an Error with a code property", Object.assign(new Error("x"), { code: "not-found", status: 404 })],
    ["a UsageError", new UsageError("bad flags")],
    ["a string", "internal"],
    ["undefined", undefined],
    ["null", null],
  ];
  for (const [what, value] of lookalikes) {
    it(`is false for ${what}`, () => assert.equal(isFernlinkError(value), false));
  }
});

describe("UsageError", () => {
  it("has code usage and is not a FernlinkError", () => {
    const err = new UsageError("missing --device");
    assert.equal(err.code, "usage");
    assert.equal(err.name, "UsageError");
    assert.equal(isFernlinkError(err), false);
  });
});

describe("errorMessage", () => {
  const cases: [string, unknown, string][] = [
    ["an Error", new Error("boom"), "boom"],
    ["a string", "plain", "plain"],
    ["a number", 42, "42"],
    ["undefined", undefined, "undefined"],
  ];
  for (const [what, value, text] of cases) {
    it(`gives the message of ${what}`, () => assert.equal(errorMessage(value), text));
  }
});
