import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ERROR_STATUS, type ErrorCode, errorMessage, FernlinkError, isErrorCode, isFernlinkError, UsageError } from "./errors.js";

/**
 * The codes and statuses peers and scripts rely on, written out rather than read from
 * ERROR_STATUS, so that renaming a code or changing its status fails here.
 */
const EXPECTED_STATUS: Record<string, number> = {
  "invalid-input": 400,
  unauthenticated: 401,
  "login-failed": 401,
  "otp-required": 401,
  forbidden: 403,
  "password-expired": 403,
  "otp-enrollment-required": 403,
  "password-change-required": 403,
  "user-locked": 403,
  "wrong-password": 403,
  "otp-invalid": 403,
  "account-disabled": 403,
  throttled: 429,
  "password-too-short": 400,
  "password-too-common": 400,
  "password-is-name": 400,
  "password-reused": 400,
  "target-not-allowed": 403,
  "remote-access-off": 403,
  "reason-required": 403,
  "not-found": 404,
  conflict: 409,
  "activation-key-invalid": 403,
  "activation-key-used": 403,
  "activation-key-expired": 403,
  "activation-key-replaced": 403,
  "certificate-rejected": 403,
  "certificate-revoked": 403,
  "too-many-streams": 429,
  "target-refused": 502,
  "target-unreachable": 502,
  "vnc-auth-failed": 502,
  "vnc-handshake-failed": 502,
  "device-offline": 503,
  "target-timeout": 504,
  "server-unreachable": 503,
  "certificate-untrusted": 503,
  internal: 500,
};

const CODES = Object.keys(EXPECTED_STATUS) as ErrorCode[];

describe("ERROR_STATUS", () => {
  it("has exactly the expected codes (a new code is added here too, with its status)", () => {
    assert.deepEqual(Object.keys(ERROR_STATUS).sort(), [...CODES].sort());
  });

  for (const code of CODES) {
    it(`answers "${code}" with HTTP ${EXPECTED_STATUS[code]}`, () => assert.equal(ERROR_STATUS[code], EXPECTED_STATUS[code]));
  }
});

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
    it(`carries code "${code}" and its status ${EXPECTED_STATUS[code]}`, () => {
      const err = new FernlinkError(code, "something happened");
      assert.equal(err.code, code);
      assert.equal(err.status, EXPECTED_STATUS[code]);
      assert.equal(err.message, "something happened");
      assert.equal(err.name, "FernlinkError");
      assert.ok(err instanceof Error);
    });
  }

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
