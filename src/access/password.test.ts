import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dummyHash, hashPassword, verifyPassword } from "./password.js";

// scrypt at N=2^15 takes ~50-100 ms per call, so one hash is shared by the checks below.
const stored = hashPassword("correct horse battery staple");

describe("hashPassword and verifyPassword", () => {
  it("writes a self-describing scrypt hash", async () => {
    assert.match(await stored, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  });

  it("verifies the right password", async () => {
    assert.equal(await verifyPassword("correct horse battery staple", await stored), true);
  });

  const wrong = ["", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple ", "x"];
  for (const password of wrong) {
    it(`rejects the wrong password ${JSON.stringify(password)}`, async () => {
      assert.equal(await verifyPassword(password, await stored), false);
    });
  }

  it("salts: two hashes of the same password differ and both verify", async () => {
    const [a, b] = await Promise.all([hashPassword("same"), hashPassword("same")]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword("same", a), true);
    assert.equal(await verifyPassword("same", b), true);
  });

  it("handles non-ASCII passwords", async () => {
    const hash = await hashPassword("Prüfstand-Zugang ✓");
    assert.equal(await verifyPassword("Prüfstand-Zugang ✓", hash), true);
    assert.equal(await verifyPassword("Prufstand-Zugang ✓", hash), false);
  });

  it("provides a dummy hash that verifies nothing guessable", async () => {
    const dummy = await dummyHash();
    assert.match(dummy, /^scrypt\$/);
    assert.equal(await verifyPassword("", dummy), false);
    assert.equal(await verifyPassword("password", dummy), false);
  });
});

describe("verifyPassword with a malformed stored hash", () => {
  // Each case is derived from a real hash, broken in one field.
  const broken: [string, (parts: string[]) => string][] = [
    ["an empty string", () => ""],
    ["plain text", () => "not a hash"],
    ["a bcrypt hash", () => "$2b$10$abcdefghijklmnopqrstuuKxZVDDIrjLNPEvDOFbS2YZZEvaNQ9km"],
    ["another scheme name", (p) => ["argon2", ...p.slice(1)].join("$")],
    ["a missing field", (p) => p.slice(0, 5).join("$")],
    ["an empty N", (p) => ["scrypt", "", ...p.slice(2)].join("$")],
    ["a non-numeric N", (p) => ["scrypt", "abc", ...p.slice(2)].join("$")],
    ["an N that is not a power of two", (p) => ["scrypt", "1000", ...p.slice(2)].join("$")],
    ["r = 0", (p) => [p[0], p[1], "0", ...p.slice(3)].join("$")],
    ["a truncated hash", (p) => [...p.slice(0, 5), p[5]!.slice(0, 10)].join("$")],
  ];
  for (const [what, make] of broken) {
    it(`returns false for ${what}`, async () => {
      const text = make((await stored).split("$"));
      assert.equal(await verifyPassword("correct horse battery staple", text).catch((err: unknown) => err), false);
    });
  }

  it("returns false for any password when the hash field is empty", async () => {
    const parts = (await stored).split("$");
    const text = [...parts.slice(0, 5), ""].join("$");
    assert.equal(await verifyPassword("anything at all", text).catch((err: unknown) => err), false);
  });
});
