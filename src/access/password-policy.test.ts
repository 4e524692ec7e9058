import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isCommonPassword } from "./common-passwords.js";
import { hashPassword } from "./password.js";
import { checkNotReused, checkPasswordRules, DEFAULT_POLICY, type PasswordPolicy, passwordExpired } from "./password-policy.js";

const NAMES = { account: "acme-plant-north", user: "alice.engineer" };

function refusal(password: string, policy: PasswordPolicy = DEFAULT_POLICY): string | undefined {
  try {
    checkPasswordRules(password, policy, NAMES);
    return undefined;
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe("checkPasswordRules", () => {
  it("accepts a long password that is not common", () => {
    assert.equal(refusal("correct horse battery staple"), undefined);
  });

  it("refuses a password shorter than the policy's minimum, counting characters not bytes", () => {
    assert.equal(refusal("elevenchars"), "password-too-short");
    assert.equal(refusal("twelve chars"), undefined);
    assert.equal(refusal("ääääääääääää"), undefined);
    assert.equal(refusal("twelve chars", { ...DEFAULT_POLICY, minLength: 16 }), "password-too-short");
  });

  it("refuses a password longer than 1024 characters", () => {
    assert.equal(refusal("x".repeat(1025)), "invalid-input");
  });

  it("refuses common passwords, whatever their case", () => {
    assert.equal(refusal("qwerty123456"), "password-too-common");
    assert.equal(refusal("QWERTY123456"), "password-too-common");
    assert.equal(refusal("1Qaz2Wsx3Edc"), "password-too-common");
    assert.equal(refusal("password", { ...DEFAULT_POLICY, minLength: 8 }), "password-too-common");
  });

  it("refuses the user's or the account's name, whatever its case", () => {
    assert.equal(refusal("alice.engineer"), "password-is-name");
    assert.equal(refusal("ACME-PLANT-NORTH"), "password-is-name");
  });
});

describe("the common password list", () => {
  it("holds the well-known ones and not a passphrase", () => {
    assert.equal(isCommonPassword("123456"), true);
    assert.equal(isCommonPassword("LetMeIn"), true);
    assert.equal(isCommonPassword("correct horse battery staple"), false);
  });
});

describe("checkNotReused", () => {
  it("refuses a password matching one of the given hashes and accepts another", async () => {
    const hashes = [await hashPassword("current password 1"), await hashPassword("earlier password 2")];
    await assert.rejects(checkNotReused("current password 1", hashes, 1), { code: "password-reused" });
    await assert.rejects(checkNotReused("earlier password 2", hashes, 1), { code: "password-reused" });
    await checkNotReused("a brand new password", hashes, 1);
  });
});

describe("passwordExpired", () => {
  const changed = "2030-01-01T00:00:00.000Z";

  it("never expires without a maximum age", () => {
    assert.equal(passwordExpired(DEFAULT_POLICY, changed, new Date("2040-01-01T00:00:00Z")), false);
  });

  it("expires exactly when the maximum age is reached", () => {
    const policy = { ...DEFAULT_POLICY, maxAgeDays: 90 };
    assert.equal(passwordExpired(policy, changed, new Date("2030-03-31T23:59:59Z")), false);
    assert.equal(passwordExpired(policy, changed, new Date("2030-04-01T00:00:00Z")), true);
  });
});
