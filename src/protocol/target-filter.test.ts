import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHostPort, TargetSyntaxError } from "./target.js";
import {
  canonicalTarget,
  canonicalTargets,
  filterAllowsAddress,
  formatTargetEntry,
  judgeTarget,
  parseTargetEntry,
  type TargetVerdict,
} from "./target-filter.js";

describe("parseTargetEntry", () => {
  const canonical: [string, string][] = [
    ["192.168.1.10", "192.168.1.10"],
    ["192.168.1.10:502", "192.168.1.10:502"],
    ["192.168.1.10:502,80", "192.168.1.10:80,502"],
    ["192.168.1.10:80,80", "192.168.1.10:80"],
    ["192.168.1.10/32", "192.168.1.10"],
    ["192.168.1.77/24", "192.168.1.0/24"],
    ["192.168.1.0/24:502", "192.168.1.0/24:502"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["127.1:22", "127.0.0.1:22"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
    ["[::ffff:10.0.0.1]:502", "10.0.0.1:502"],
    ["fd00::1", "fd00::1"],
    ["FD00::1", "fd00::1"],
    ["fd00::/64", "fd00::/64"],
    ["fd00::/64:502", "[fd00::]/64:502"],
    ["[fd00::]/64:502", "[fd00::]/64:502"],
    ["[fd00::/64]:502", "[fd00::]/64:502"],
    ["[FD00::1]:502,80", "[fd00::1]:80,502"],
    ["plc.local", "plc.local"],
    ["PLC.Local.:502", "plc.local:502"],
    ["hmi-1:80,443", "hmi-1:80,443"],
  ];
  for (const [text, expected] of canonical) {
    it(`reads "${text}" as ${expected}`, () => {
      const entry = parseTargetEntry(text);
      assert.equal(formatTargetEntry(entry), expected);
      assert.deepEqual(parseTargetEntry(formatTargetEntry(entry)), entry, "the canonical form reads back the same");
    });
  }

  const invalid = [
    "",
    ":502",
    "host:",
    "host:0",
    "host:70000",
    "host:80,",
    "host:x",
    "10.0.0.0/33",
    "10.0.0.0/8.0",
    "10.0.0.0/",
    "fd00::/129",
    "plc/8",
    "[plc]:502",
    "1.2.3.999",
    "a b",
    "::ffff:0:0/80",
    "fe80::1%eth0",
    "10.0.0.1/8/8",
  ];
  for (const text of invalid) {
    it(`refuses "${text}" naming it`, () => {
      assert.throws(
        () => parseTargetEntry(text),
        (err: unknown) => err instanceof TargetSyntaxError && err.code === "invalid-target" && err.message.includes(`"${text}"`),
      );
    });
  }

  it("drops duplicates after making entries canonical", () => {
    assert.deepEqual(canonicalTargets(["10.0.0.1:502", "10.0.0.1:502", "127.1", "127.0.0.1/32"]), ["10.0.0.1:502", "127.0.0.1"]);
  });
});

describe("judgeTarget", () => {
  const entries = ["192.168.1.10:502,80", "10.0.0.0/8:22", "fd00::/64:502", "plc.local:102"].map(parseTargetEntry);
  const cases: [string, TargetVerdict][] = [
    ["192.168.1.10:502", "allowed"],
    ["192.168.1.10:80", "allowed"],
    ["192.168.1.10:81", "denied"],
    ["192.168.1.11:502", "denied"],
    ["[::ffff:192.168.1.10]:502", "allowed"],
    ["[::FFFF:C0A8:10A]:502", "allowed"],
    ["3232235786:502", "allowed"],
    ["10.200.3.4:22", "allowed"],
    ["10.1:22", "allowed"],
    ["11.0.0.1:22", "denied"],
    ["[FD00::ABCD]:502", "allowed"],
    ["[fd00:0:0:1::1]:502", "denied"],
    ["[fd00::1]:503", "denied"],
    // An IP on the port of a named entry: only the agent can tell if it is plc.local.
    ["192.168.1.99:102", "ask-agent"],
    ["plc.local:102", "ask-agent"],
    ["PLC.LOCAL:102", "ask-agent"],
    ["other.local:22", "ask-agent"],
    ["other.local:9999", "denied"],
  ];
  for (const [target, verdict] of cases) {
    it(`says ${verdict} to ${target}`, () => assert.equal(judgeTarget(entries, parseHostPort(target)), verdict));
  }

  it("denies everything when there are no entries", () => {
    assert.equal(judgeTarget([], parseHostPort("10.0.0.1:22")), "denied");
    assert.equal(judgeTarget([], parseHostPort("plc:22")), "denied");
  });
});

describe("filterAllowsAddress", () => {
  const entries = ["127.0.0.2:5000", "plc.local:102"].map(parseTargetEntry);
  const cases: [string, number, boolean][] = [
    ["127.0.0.2", 5000, true],
    ["::ffff:127.0.0.2", 5000, true],
    ["127.0.0.1", 5000, false],
    ["127.0.0.2", 5001, false],
    ["not an address", 5000, false],
  ];
  for (const [address, port, allowed] of cases) {
    it(`${allowed ? "lets" : "does not let"} ${address} port ${port} through`, () => assert.equal(filterAllowsAddress(entries, address, port), allowed));
  }

  it("lets the addresses a named entry resolved to through, on its ports only", () => {
    const named = new Map([["plc.local", ["192.168.1.20"]]]);
    assert.equal(filterAllowsAddress(entries, "192.168.1.20", 102, named), true);
    assert.equal(filterAllowsAddress(entries, "192.168.1.20", 103, named), false);
    assert.equal(filterAllowsAddress(entries, "192.168.1.21", 102, named), false);
    assert.equal(filterAllowsAddress(entries, "192.168.1.20", 102), false, "unresolved names let nothing through");
  });
});

describe("canonicalTarget", () => {
  it("writes IP targets in canonical form and names in lower case", () => {
    assert.deepEqual(canonicalTarget({ host: "127.1", port: 1 }), { host: "127.0.0.1", port: 1 });
    assert.deepEqual(canonicalTarget({ host: "::FFFF:127.0.0.1", port: 1 }), { host: "127.0.0.1", port: 1 });
    assert.deepEqual(canonicalTarget({ host: "PLC.local.", port: 1 }), { host: "plc.local", port: 1 });
  });
});
