import assert from "node:assert/strict";
import { test } from "node:test";
import { CidrSyntaxError } from "./cidr.js";
import { canonicalAllowFrom, formatPortRange, parseAgentPublish, parsePortRange, sourceAllowed } from "./published-ports.js";

test("a port range is LOW-HIGH or one port, within 1-65535 and in order", () => {
  assert.deepEqual(parsePortRange("15000-15099"), { low: 15000, high: 15099 });
  assert.deepEqual(parsePortRange("502"), { low: 502, high: 502 });
  for (const bad of ["", "0-10", "10-5", "1-70000", "a-b", "1-2-3"]) assert.throws(() => parsePortRange(bad), RangeError, bad);
  assert.equal(formatPortRange({ low: 1, high: 2 }), "1-2");
  assert.equal(formatPortRange(undefined), "none");
});

test("whitelist entries are canonical networks, bad ones refused", () => {
  assert.deepEqual(canonicalAllowFrom(["10.1.2.3/8", "127.0.0.1", "10.0.0.0/8", "::1"]), ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
  assert.throws(() => canonicalAllowFrom(["300.1.1.1/8"]), CidrSyntaxError);
  assert.throws(() => canonicalAllowFrom(["10.0.0.0/33"]), CidrSyntaxError);
});

test("a source passes when it is inside an entry, v4-mapped addresses included; an empty list lets any in", () => {
  const list = ["127.0.0.1/32", "192.168.0.0/16"];
  assert.equal(sourceAllowed(list, "127.0.0.1"), true);
  assert.equal(sourceAllowed(list, "::ffff:127.0.0.1"), true);
  assert.equal(sourceAllowed(list, "192.168.44.5"), true);
  assert.equal(sourceAllowed(list, "127.0.0.2"), false);
  assert.equal(sourceAllowed(list, "::1"), false);
  assert.equal(sourceAllowed(list, "nonsense"), false);
  assert.equal(sourceAllowed([], "203.0.113.9"), true);
});

test("an agent's --publish is N:HOST:PORT with allow-from options", () => {
  assert.deepEqual(parseAgentPublish("15020:192.168.1.10:502"), { port: 15020, target: "192.168.1.10:502", allowFrom: [] });
  assert.deepEqual(parseAgentPublish("15020:plc.local:502,allow-from=10.1.2.3/8,allow-from=127.0.0.1"), {
    port: 15020,
    target: "plc.local:502",
    allowFrom: ["10.0.0.0/8", "127.0.0.1/32"],
  });
  assert.deepEqual(parseAgentPublish("80:[fd00::5]:8080").target, "[fd00::5]:8080");
  assert.deepEqual(parseAgentPublish("15053:127.0.0.1:53,udp,allow-from=10.0.0.1"), {
    port: 15053,
    target: "127.0.0.1:53",
    allowFrom: ["10.0.0.1/32"],
    protocol: "udp",
  });
  for (const bad of ["15020", "0:h:1", "1:h:70000", "1:h:2,color=red", "1:h:2,udp=1", "1:h:2,allow-from=10.0.0.0/40"])
    assert.throws(() => parseAgentPublish(bad), RangeError, bad);
});
