import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkTotp, newTotpSecret, totpCode, totpStep, totpUri } from "./totp.js";

// RFC 6238 appendix B: SHA-1 key "12345678901234567890" (ASCII), 8 digits, 30 s steps.
const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const RFC_VECTORS: [seconds: number, code: string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

describe("TOTP codes", () => {
  for (const [seconds, code] of RFC_VECTORS) {
    it(`match the RFC 6238 SHA-1 test vector at T=${seconds}`, () => {
      assert.equal(totpCode(RFC_SECRET, totpStep(new Date(seconds * 1000)), 8), code);
    });
  }

  it("are six digits by default, the last six of the RFC vector", () => {
    assert.equal(totpCode(RFC_SECRET, totpStep(new Date(59_000))), "287082");
  });

  it("change every 30 seconds", () => {
    assert.equal(totpStep(new Date(29_999)), 0);
    assert.equal(totpStep(new Date(30_000)), 1);
  });
});

describe("checkTotp", () => {
  const secret = newTotpSecret();
  const now = new Date("2030-01-01T00:00:15Z");
  const step = totpStep(now);

  it("accepts the current code and names its step", () => {
    assert.deepEqual(checkTotp(secret, totpCode(secret, step), now, null), { ok: true, step });
  });

  it("accepts the codes of one step before and after, for clock drift", () => {
    assert.deepEqual(checkTotp(secret, totpCode(secret, step - 1), now, null), { ok: true, step: step - 1 });
    assert.deepEqual(checkTotp(secret, totpCode(secret, step + 1), now, null), { ok: true, step: step + 1 });
  });

  it("refuses codes two steps away as wrong", () => {
    assert.deepEqual(checkTotp(secret, totpCode(secret, step - 2), now, null), { ok: false, reason: "wrong" });
    assert.deepEqual(checkTotp(secret, totpCode(secret, step + 2), now, null), { ok: false, reason: "wrong" });
  });

  it("refuses a code of the last accepted step, or an earlier one, as replayed", () => {
    assert.deepEqual(checkTotp(secret, totpCode(secret, step), now, step), { ok: false, reason: "replayed" });
    assert.deepEqual(checkTotp(secret, totpCode(secret, step - 1), now, step), { ok: false, reason: "replayed" });
    assert.deepEqual(checkTotp(secret, totpCode(secret, step + 1), now, step), { ok: true, step: step + 1 });
  });

  it("refuses a code of another secret and a malformed code", () => {
    const other = newTotpSecret();
    assert.equal(checkTotp(secret, totpCode(other, step), now, null).ok, false);
    assert.equal(checkTotp(secret, "12345", now, null).ok, false);
  });
});

describe("TOTP secrets and URIs", () => {
  it("makes 160-bit base32 secrets that differ", () => {
    const a = newTotpSecret();
    assert.match(a, /^[A-Z2-7]{32}$/);
    assert.notEqual(a, newTotpSecret());
  });

  it("writes an otpauth:// URI with the issuer, label, secret and parameters", () => {
    const uri = new URL(totpUri(RFC_SECRET, "alice@acme"));
    assert.equal(uri.protocol, "otpauth:");
    assert.equal(uri.host, "totp");
    assert.equal(decodeURIComponent(uri.pathname), "/Fernlink:alice@acme");
    assert.equal(uri.searchParams.get("secret"), RFC_SECRET);
    assert.equal(uri.searchParams.get("issuer"), "Fernlink");
    assert.equal(uri.searchParams.get("algorithm"), "SHA1");
    assert.equal(uri.searchParams.get("digits"), "6");
    assert.equal(uri.searchParams.get("period"), "30");
  });
});
