import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type Cidr, CidrSyntaxError, formatCidr, networkCidr, parseCidr } from "./cidr.js";

describe("parseCidr", () => {
  const valid: [string, Cidr][] = [
    ["192.168.1.0/24", { address: "192.168.1.0", prefix: 24, family: 4 }],
    ["10.0.0.0/8", { address: "10.0.0.0", prefix: 8, family: 4 }],
    ["0.0.0.0/0", { address: "0.0.0.0", prefix: 0, family: 4 }],
    ["10.1.2.3/32", { address: "10.1.2.3", prefix: 32, family: 4 }],
    ["10.1.2.3", { address: "10.1.2.3", prefix: 32, family: 4 }],
    ["fd00::/64", { address: "fd00::", prefix: 64, family: 6 }],
    ["::/0", { address: "::", prefix: 0, family: 6 }],
    ["::1", { address: "::1", prefix: 128, family: 6 }],
    ["fd00::1/128", { address: "fd00::1", prefix: 128, family: 6 }],
    ["::ffff:10.0.0.0/104", { address: "::ffff:10.0.0.0", prefix: 104, family: 6 }],
  ];
  for (const [text, cidr] of valid) {
    it(`reads "${text}"`, () => assert.deepEqual(parseCidr(text), cidr));
  }

  const invalid = [
    "",
    "/24",
    "10.0.0.0/",
    "10.0.0.0/33",
    "10.0.0.0/-1",
    "10.0.0.0/+8",
    "10.0.0.0/8.0",
    "10.0.0.0/ 8",
    "10.0.0.0/1000",
    "10.0.0.0/8/8",
    "10.0.0/8",
    "256.0.0.0/8",
    "plc.local/24",
    "fd00::/129",
    "fd00::/0x10",
    "[fd00::]/64",
    "10.0.0.0:502",
  ];
  for (const text of invalid) {
    it(`rejects "${text}" with invalid-cidr`, () => {
      assert.throws(
        () => parseCidr(text),
        (err: unknown) => err instanceof CidrSyntaxError && err.code === "invalid-cidr",
      );
    });
  }

  it("never throws anything but CidrSyntaxError on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        try {
          const cidr = parseCidr(text);
          assert.ok(cidr.prefix >= 0 && cidr.prefix <= (cidr.family === 4 ? 32 : 128));
        } catch (err) {
          assert.ok(err instanceof CidrSyntaxError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("formatCidr", () => {
  it("writes address/prefix, also for a single host", () => {
    assert.equal(formatCidr({ address: "10.0.0.0", prefix: 8, family: 4 }), "10.0.0.0/8");
    assert.equal(formatCidr(parseCidr("10.1.2.3")), "10.1.2.3/32");
    assert.equal(formatCidr(parseCidr("::1")), "::1/128");
  });

  it("round-trips every IPv4 and IPv6 range through parseCidr", () => {
    const v4 = fc.record({ address: fc.ipV4(), prefix: fc.integer({ min: 0, max: 32 }), family: fc.constant(4 as const) }, { noNullPrototype: true });
    const v6 = fc.record({ address: fc.ipV6(), prefix: fc.integer({ min: 0, max: 128 }), family: fc.constant(6 as const) }, { noNullPrototype: true });
    fc.assert(
      fc.property(fc.oneof(v4, v6), (cidr: Cidr) => {
        assert.deepEqual(parseCidr(formatCidr(cidr)), cidr);
      }),
      { numRuns: 500 },
    );
  });
});

describe("networkCidr", () => {
  const cases: [string, string][] = [
    ["192.168.1.10/24", "192.168.1.0/24"],
    ["192.168.1.0/24", "192.168.1.0/24"],
    ["10.1.2.3/32", "10.1.2.3/32"],
    ["10.255.0.1/0", "0.0.0.0/0"],
    ["fd00::1:2/64", "fd00::/64"],
    ["::ffff:1.2.3.4/120", "::ffff:1.2.3.4/120"],
  ];
  for (const [text, network] of cases) {
    it(`reads ${text} as ${network}`, () => {
      assert.equal(formatCidr(networkCidr(parseCidr(text))), network);
    });
  }
});
