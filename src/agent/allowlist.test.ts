import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Allowlist, type AllowRule, AllowSyntaxError, formatAllowRule, normaliseAddress, parseAllowRule } from "./allowlist.js";

function rule(address: string, prefix: number, ports?: number[]): AllowRule {
  return { cidr: { address, prefix, family: address.includes(":") ? 6 : 4 }, ports };
}

function isAllowSyntaxError(err: unknown): boolean {
  return err instanceof AllowSyntaxError && err.code === "invalid-allow";
}

describe("parseAllowRule", () => {
  const valid: [string, AllowRule][] = [
    ["192.168.1.0/24", rule("192.168.1.0", 24)],
    ["0.0.0.0/0", rule("0.0.0.0", 0)],
    ["192.168.1.0/24:502", rule("192.168.1.0", 24, [502])],
    ["192.168.1.0/24:502,503,80", rule("192.168.1.0", 24, [502, 503, 80])],
    ["192.168.1.10", rule("192.168.1.10", 32)],
    ["192.168.1.10:502", rule("192.168.1.10", 32, [502])],
    ["192.168.1.10:502,1502", rule("192.168.1.10", 32, [502, 1502])],
    ["fd00::1", rule("fd00::1", 128)],
    ["fd00::/64", rule("fd00::", 64)],
    ["fd00::/64:502", rule("fd00::", 64, [502])],
    ["fd00::/64:502,503", rule("fd00::", 64, [502, 503])],
    ["[fd00::1]", rule("fd00::1", 128)],
    ["[fd00::1]:502", rule("fd00::1", 128, [502])],
    ["[fd00::1]:502,503", rule("fd00::1", 128, [502, 503])],
    ["[fd00::]/64", rule("fd00::", 64)],
    ["[fd00::]/64:502", rule("fd00::", 64, [502])],
    ["::/0", rule("::", 0)],
  ];
  for (const [text, expected] of valid) {
    it(`reads "${text}"`, () => assert.deepEqual(parseAllowRule(text), expected));
  }

  const invalid = [
    "",
    "any",
    "plc.local",
    "plc.local:502",
    "192.168.1.0/33",
    "192.168.1.0/",
    "192.168.1.0/24:",
    "192.168.1.0/24:0",
    "192.168.1.0/24:65536",
    "192.168.1.0/24:502,",
    "192.168.1.0/24:502,,503",
    "192.168.1.0/24:http",
    "192.168.1.10:",
    "192.168.1.10:502:503",
    "192.168.1.10:-1",
    "192.168.1/24",
    "300.1.1.1",
    "fd00::/129",
    "fd00::/64:",
    "fd00::/64:x",
    "[fd00::1]:",
    "[fd00::1]:0",
    "[plc]:502",
    "[]:502",
  ];
  for (const text of invalid) {
    it(`rejects "${text}" with invalid-allow`, () => assert.throws(() => parseAllowRule(text), isAllowSyntaxError));
  }

  // `text.split("/", 2)` and `rest.split(":", 2)` in the CIDR branch drop everything after a
  // second "/" or ":" instead of refusing it, so these typos are accepted as something else.
  const truncated = ["10.0.0.0/8/16", "10.0.0.0/8:502:503", "fd00::/64:502:503", "10.0.0.0/24/8:502"];
  for (const text of truncated) {
    it(`rejects "${text}" instead of silently dropping its tail`, () => assert.throws(() => parseAllowRule(text), isAllowSyntaxError));
  }

  it("keeps the CIDR error as the cause", () => {
    assert.throws(
      () => parseAllowRule("10.0.0.0/40"),
      (err: unknown) => isAllowSyntaxError(err) && ((err as Error).cause as { code?: string } | undefined)?.code === "invalid-cidr",
    );
  });
});

describe("formatAllowRule", () => {
  const cases = ["192.168.1.0/24", "192.168.1.0/24:502,503", "192.168.1.10/32:502", "fd00::/64", "fd00::/64:502", "fd00::1/128:502", "::/0"];
  for (const text of cases) {
    it(`writes "${text}" so that it parses back to the same rule`, () => {
      const parsed = parseAllowRule(text);
      assert.equal(formatAllowRule(parsed), text);
      assert.deepEqual(parseAllowRule(formatAllowRule(parsed)), parsed);
    });
  }
});

describe("normaliseAddress", () => {
  const cases: [string, ReturnType<typeof normaliseAddress>][] = [
    ["10.0.0.1", { address: "10.0.0.1", family: 4 }],
    ["::ffff:10.0.0.1", { address: "10.0.0.1", family: 4 }],
    ["::FFFF:10.0.0.1", { address: "10.0.0.1", family: 4 }],
    ["fd00::1", { address: "fd00::1", family: 6 }],
    ["plc.local", undefined],
    ["", undefined],
  ];
  for (const [input, expected] of cases) {
    it(`normalises "${input}"`, () => assert.deepEqual(normaliseAddress(input), expected));
  }
});

describe("Allowlist.allows", () => {
  const list = new Allowlist([
    parseAllowRule("192.168.1.0/24"),
    parseAllowRule("10.0.0.0/8:502,503"),
    parseAllowRule("127.0.0.1"),
    parseAllowRule("fd00::/64:502"),
    parseAllowRule("[fd01::5]"),
  ]);
  const cases: [string, number, boolean][] = [
    ["192.168.1.1", 80, true],
    ["192.168.1.255", 65535, true],
    ["192.168.2.1", 80, false],
    ["10.1.2.3", 502, true],
    ["10.1.2.3", 503, true],
    ["10.1.2.3", 504, false],
    ["11.0.0.1", 502, false],
    ["127.0.0.1", 22, true],
    ["127.0.0.2", 22, false],
    ["::ffff:127.0.0.1", 22, true],
    ["::ffff:192.168.1.7", 1, true],
    ["::ffff:10.9.9.9", 502, true],
    ["::ffff:10.9.9.9", 80, false],
    ["::ffff:8.8.8.8", 53, false],
    ["fd00::1234", 502, true],
    ["fd00::1234", 80, false],
    ["fd00:0:0:1::1", 502, false],
    ["fd01::5", 9999, true],
    ["fd01::6", 9999, false],
    ["::1", 22, false],
    ["localhost", 22, false],
    ["not an address", 22, false],
    ["", 22, false],
  ];
  for (const [address, port, allowed] of cases) {
    it(`${allowed ? "allows" : "refuses"} ${address} port ${port}`, () => assert.equal(list.allows(address, port), allowed));
  }

  it("allows nothing when empty", () => {
    const empty = new Allowlist([]);
    assert.equal(empty.allows("127.0.0.1", 80), false);
    assert.equal(empty.allows("::1", 80), false);
    assert.equal(empty.describe(), "nothing");
  });

  it("describes its rules as written on the command line", () => {
    assert.equal(new Allowlist([parseAllowRule("10.0.0.0/8:502"), parseAllowRule("[fd00::1]:80")]).describe(), "10.0.0.0/8:502, fd00::1/128:80");
  });

  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  const toText = (octets: readonly number[]): string => octets.join(".");
  const toInt = (octets: readonly number[]): number => octets.reduce((n, o) => n * 256 + o, 0);
  const inRange = (address: readonly number[], base: readonly number[], prefix: number): boolean => {
    const size = 2 ** (32 - prefix);
    return Math.floor(toInt(address) / size) === Math.floor(toInt(base) / size);
  };
  const portList = fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 4 }), { nil: undefined });
  const ruleArb = fc.record({ base: ipv4, prefix: fc.integer({ min: 0, max: 32 }), ports: portList }, { noNullPrototype: true });

  it("agrees with a reference model for random IPv4 ranges, ports and addresses", () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 4 }),
        // Addresses close to the first rule's base exercise the range edges, not only far misses.
        fc.oneof(
          ipv4,
          ipv4.map((o) => [10, o[1], o[2], o[3]] as const),
        ),
        fc.integer({ min: 1, max: 65535 }),
        fc.boolean(),
        (rules, address, port, mapped) => {
          const list = new Allowlist(rules.map((r) => ({ cidr: { address: toText(r.base), prefix: r.prefix, family: 4 }, ports: r.ports })));
          const expected = rules.some((r) => inRange(address, r.base, r.prefix) && (!r.ports || r.ports.includes(port)));
          const text = mapped ? `::ffff:${toText(address)}` : toText(address);
          assert.equal(list.allows(text, port), expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("agrees with the reference model for addresses inside and just outside a range", () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 32 }), fc.nat(), (base, prefix, offset) => {
        const size = 2 ** (32 - prefix);
        const start = Math.floor(toInt(base) / size) * size;
        const fromInt = (n: number): number[] => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
        const list = new Allowlist([{ cidr: { address: toText(base), prefix, family: 4 }, ports: undefined }]);
        const inside = start + (offset % size);
        assert.equal(list.allows(toText(fromInt(inside)), 80), true);
        if (start > 0) assert.equal(list.allows(toText(fromInt(start - 1)), 80), false);
        if (start + size <= 0xffffffff) assert.equal(list.allows(toText(fromInt(start + size)), 80), false);
      }),
      { numRuns: 1000 },
    );
  });
});
