import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { hashActivationKey, newActivationKey, normaliseActivationKey } from "./activation-key.js";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const KEY_FORMAT = /^[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}$/;

describe("newActivationKey", () => {
  it("writes 5 groups of 5 Crockford base32 symbols", () => {
    for (let i = 0; i < 200; i++) {
      const key = newActivationKey();
      assert.match(key, KEY_FORMAT);
      assert.equal(key.length, 29);
    }
  });

  it("never uses the ambiguous letters I, L, O or U", () => {
    const symbols = new Set(Array.from({ length: 200 }, newActivationKey).join("").replace(/-/g, ""));
    for (const letter of "ILOU") assert.equal(symbols.has(letter), false, letter);
  });

  it("is already in canonical form apart from the dashes", () => {
    const key = newActivationKey();
    assert.equal(normaliseActivationKey(key), key.replace(/-/g, ""));
  });

  it("gives unique keys over 1000 draws", () => {
    const keys = new Set(Array.from({ length: 1000 }, newActivationKey));
    assert.equal(keys.size, 1000);
  });

  it("uses the whole alphabet", () => {
    const symbols = new Set(Array.from({ length: 1000 }, newActivationKey).join("").replace(/-/g, ""));
    assert.equal(symbols.size, CROCKFORD.length);
  });
});

describe("normaliseActivationKey", () => {
  const cases: [string, string][] = [
    ["ABCDE-FGHJK", "ABCDEFGHJK"],
    ["abcde-fghjk", "ABCDEFGHJK"],
    ["ABCDE FGHJK", "ABCDEFGHJK"],
    ["  ABCDE\tFGHJK \n", "ABCDEFGHJK"],
    ["AB-CD--E", "ABCDE"],
    ["I1L1i1l1", "11111111"],
    ["O0o0", "0000"],
    ["", ""],
  ];
  for (const [input, canonical] of cases) {
    it(`maps ${JSON.stringify(input)} to "${canonical}"`, () => assert.equal(normaliseActivationKey(input), canonical));
  }
});

describe("hashActivationKey", () => {
  // A key that contains 0 and 1, so the look-alike letters have something to stand in for.
  const key = "7K3QD-10XYZ-ABCDE-F0123-456H1";

  const spellings = [
    key,
    key.toLowerCase(),
    key.replace(/-/g, ""),
    key.replace(/-/g, " "),
    key.replace(/0/g, "O"),
    key.replace(/0/g, "o"),
    key.replace(/1/g, "I"),
    key.replace(/1/g, "l"),
    ` ${key
      .toLowerCase()
      .replace(/-/g, "")
      .replace(/(.{5})/g, "$1 ")} `,
  ];
  for (const spelling of spellings) {
    it(`hashes "${spelling}" like the canonical key`, () => assert.equal(hashActivationKey(spelling), hashActivationKey(key)));
  }

  it("hashes different keys differently", () => {
    assert.notEqual(hashActivationKey(key), hashActivationKey(key.replace("7K3QD", "7K3QE")));
    assert.notEqual(hashActivationKey(newActivationKey()), hashActivationKey(newActivationKey()));
  });

  it("is not the key itself", () => {
    const hash = hashActivationKey(key);
    assert.equal(hash.includes(normaliseActivationKey(key)), false);
    assert.equal(hash.includes(key), false);
  });

  it("is equal exactly when the canonical forms are equal", () => {
    const symbol = fc.constantFrom(...CROCKFORD);
    const canonical = fc.array(symbol, { minLength: 25, maxLength: 25 }).map((s) => s.join(""));
    fc.assert(
      fc.property(canonical, canonical, (a, b) => {
        assert.equal(hashActivationKey(a) === hashActivationKey(b), a === b);
      }),
    );
  });
});
