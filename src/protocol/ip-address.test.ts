import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatIpAddress, networkOf, parseIpAddress } from "./ip-address.js";

describe("parseIpAddress", () => {
  const same: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["127.1", "127.0.0.1"],
    ["127.0.1", "127.0.0.1"],
    ["2130706433", "127.0.0.1"],
    ["0x7f.1", "127.0.0.1"],
    ["0x7F000001", "127.0.0.1"],
    ["0177.0.0.1", "127.0.0.1"],
    ["10.1.258", "10.1.1.2"],
    ["0", "0.0.0.0"],
    ["::ffff:127.0.0.1", "127.0.0.1"],
    ["::FFFF:127.0.0.1", "127.0.0.1"],
    ["::ffff:7f00:1", "127.0.0.1"],
    ["[::ffff:7f00:1]", "127.0.0.1"],
    ["FD00::1", "fd00::1"],
    ["fd00:0000:0:0:0:0:0:0001", "fd00::1"],
    ["::1", "::1"],
    ["::", "::"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["::127.0.0.1", "::7f00:1"],
    ["64:ff9b::10.0.0.1", "64:ff9b::a00:1"],
  ];
  for (const [text, canonical] of same) {
    it(`reads "${text}" as ${canonical}`, () => {
      const ip = parseIpAddress(text);
      assert.ok(ip, text);
      assert.equal(formatIpAddress(ip), canonical);
    });
  }

  const notAddresses = [
    "",
    "localhost",
    "plc.local",
    "256.1.1.1",
    "1.2.3.4.5",
    "08.1.1.1",
    "1.2.3.256",
    "1.2.65536",
    "fe80::1%eth0",
    "1::2::3",
    "1.2.3.4 ",
    "-1",
    "4294967296",
  ];
  for (const text of notAddresses) {
    it(`does not take "${text}" for an address`, () => assert.equal(parseIpAddress(text), undefined));
  }

  it("formats every IPv4 address back to a dotted quad that reads the same", () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        const ip = parseIpAddress(text)!;
        assert.equal(ip.family, 4);
        assert.deepEqual(parseIpAddress(formatIpAddress(ip)), ip);
      }),
    );
  });

  it("formats every IPv6 address to a canonical text that reads the same", () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ip = parseIpAddress(text)!;
        assert.ok(ip);
        const canonical = formatIpAddress(ip);
        assert.deepEqual(parseIpAddress(canonical), ip);
        assert.deepEqual(parseIpAddress(text.toUpperCase()), ip);
        assert.equal(canonical, canonical.toLowerCase());
      }),
    );
  });

  it("clears the host bits for a network", () => {
    assert.equal(networkOf(parseIpAddress("192.168.1.77")!, 24), parseIpAddress("192.168.1.0")!.value);
    assert.equal(networkOf(parseIpAddress("192.168.1.77")!, 0), 0n);
    assert.equal(networkOf(parseIpAddress("fd00::1:2")!, 64), parseIpAddress("fd00::")!.value);
  });
});
