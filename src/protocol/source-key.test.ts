import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sourceKey } from "./source-key.js";

describe("sourceKey", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "127.0.0.1"],
    ["::ffff:192.0.2.7", "192.0.2.7"],
    ["::FFFF:192.0.2.7", "192.0.2.7"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::9", "2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002:ffff::1", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["unknown", "unknown"],
  ];
  for (const [source, key] of cases) {
    it(`counts ${source} as ${key}`, () => assert.equal(sourceKey(source), key));
  }

  it("puts two addresses of one IPv6 /64 together and those of different /64s apart", () => {
    assert.equal(sourceKey("2001:db8:a:b::1"), sourceKey("2001:db8:a:b:ffff:ffff:ffff:ffff"));
    assert.notEqual(sourceKey("2001:db8:a:b::1"), sourceKey("2001:db8:a:c::1"));
  });
});
