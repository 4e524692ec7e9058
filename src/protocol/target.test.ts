import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { formatHostPort, type HostPort, parseForward, parseHost, parseHostPort, parseListen, parsePort, TargetSyntaxError } from "./target.js";

function rejects(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof TargetSyntaxError && err.code === "invalid-target");
}

describe("parsePort", () => {
  const valid: [string, number][] = [
    ["1", 1],
    ["502", 502],
    ["00080", 80],
    ["65535", 65535],
  ];
  for (const [text, port] of valid) {
    it(`reads "${text}" as ${port}`, () => assert.equal(parsePort(text), port));
  }

  const invalid = ["", "0", "65536", "99999", "123456", "-1", "+80", "80 ", " 80", "8o", "1e3", "0x50", "80.0"];
  for (const text of invalid) {
    it(`rejects "${text}" with invalid-target`, () => rejects(() => parsePort(text)));
  }

  it("accepts 0 only when the caller allows it", () => {
    assert.equal(parsePort("0", true), 0);
    rejects(() => parsePort("0"));
  });

  it("still rejects out-of-range ports when 0 is allowed", () => rejects(() => parsePort("65536", true)));

  it("accepts every integer 1-65535 written in decimal", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 65535 }), (port) => parsePort(String(port)) === port));
  });
});

describe("parseHost", () => {
  const valid: [string, string][] = [
    ["192.168.1.10", "192.168.1.10"],
    ["plc-1", "plc-1"],
    ["plc.factory.example", "plc.factory.example"],
    ["plc.factory.example.", "plc.factory.example."],
    ["_service.local", "_service.local"],
    ["::1", "::1"],
    ["[::1]", "::1"],
    ["[fd00::10]", "fd00::10"],
    ["fe80::1", "fe80::1"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
  ];
  for (const [text, host] of valid) {
    it(`accepts "${text}" as "${host}"`, () => assert.equal(parseHost(text), host));
  }

  const invalid = [
    "",
    "[]",
    "host name",
    "host/path",
    "-leading-dash",
    "a..b",
    ".leading-dot",
    "[plc:1]",
    "[::1",
    "::1]",
    "ümlaut.example",
    `${"a".repeat(64)}.example`,
    `${"a.".repeat(127)}ab`,
  ];
  for (const text of invalid) {
    it(`rejects ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} with invalid-target`, () => rejects(() => parseHost(text)));
  }

  it("accepts a 63-character label and a 253-character name", () => {
    assert.equal(parseHost(`${"a".repeat(63)}.example`), `${"a".repeat(63)}.example`);
    const long = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    assert.equal(long.length, 253);
    assert.equal(parseHost(long), long);
  });
});

describe("parseHostPort", () => {
  const valid: [string, HostPort][] = [
    ["192.168.1.10:502", { host: "192.168.1.10", port: 502 }],
    ["plc.local:8080", { host: "plc.local", port: 8080 }],
    ["localhost:1", { host: "localhost", port: 1 }],
    ["[::1]:502", { host: "::1", port: 502 }],
    ["[fd00::10]:65535", { host: "fd00::10", port: 65535 }],
    ["[::ffff:10.0.0.1]:80", { host: "::ffff:10.0.0.1", port: 80 }],
  ];
  for (const [text, expected] of valid) {
    it(`splits "${text}"`, () => assert.deepEqual(parseHostPort(text), expected));
  }

  const invalid = [
    "",
    "plc",
    ":502",
    "plc:",
    "plc:0",
    "plc:65536",
    "plc:port",
    "::1:502",
    "fd00::10:502",
    "[::1]",
    "[::1]502",
    "[::1]:",
    "[plc]:x",
    "[not-v6:x]:80",
    "bad host:80",
  ];
  for (const text of invalid) {
    it(`rejects "${text}" with invalid-target`, () => rejects(() => parseHostPort(text)));
  }

  it("accepts port 0 only when allowed", () => {
    assert.deepEqual(parseHostPort("127.0.0.1:0", true), { host: "127.0.0.1", port: 0 });
    assert.deepEqual(parseHostPort("[::1]:0", true), { host: "::1", port: 0 });
    rejects(() => parseHostPort("127.0.0.1:0"));
    rejects(() => parseHostPort("[::1]:0"));
  });
});

describe("formatHostPort", () => {
  const cases: [HostPort, string][] = [
    [{ host: "192.168.1.10", port: 502 }, "192.168.1.10:502"],
    [{ host: "plc.local", port: 80 }, "plc.local:80"],
    [{ host: "::1", port: 502 }, "[::1]:502"],
    [{ host: "fd00::10", port: 1 }, "[fd00::10]:1"],
  ];
  for (const [hp, text] of cases) {
    it(`writes ${JSON.stringify(hp)} as "${text}"`, () => assert.equal(formatHostPort(hp), text));
  }
});

// Hosts the parsers must accept verbatim: IPv4, IPv6 (fast-check's generators) and DNS names.
const label = fc.stringMatching(/^[a-z0-9_](?:[a-z0-9_-]{0,20})$/);
const hostName = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join("."));
const host = fc.oneof(fc.ipV4(), fc.ipV6(), hostName);
const port = fc.integer({ min: 1, max: 65535 });
const hostPort = fc.record({ host, port }, { noNullPrototype: true });

describe("host:port round trip", () => {
  it("parseHostPort(formatHostPort(x)) gives x back for any IPv4, IPv6 or DNS host and port", () => {
    fc.assert(
      fc.property(hostPort, (hp) => {
        assert.deepEqual(parseHostPort(formatHostPort(hp)), hp);
      }),
      { numRuns: 500 },
    );
  });

  it("formatHostPort(parseHostPort(text)) is the canonical text again", () => {
    fc.assert(
      fc.property(hostPort, (hp) => {
        const text = formatHostPort(hp);
        assert.equal(formatHostPort(parseHostPort(text)), text);
      }),
    );
  });

  it("never throws anything but TargetSyntaxError on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          const hp = parseHostPort(text);
          assert.ok(hp.port >= 1 && hp.port <= 65535);
        } catch (err) {
          assert.ok(err instanceof TargetSyntaxError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("parseForward", () => {
  const valid: [string, { listen: HostPort; target: HostPort }][] = [
    ["5020:192.168.1.10:502", { listen: { host: "127.0.0.1", port: 5020 }, target: { host: "192.168.1.10", port: 502 } }],
    ["0:plc.local:502", { listen: { host: "127.0.0.1", port: 0 }, target: { host: "plc.local", port: 502 } }],
    ["0.0.0.0:5020:plc:502", { listen: { host: "0.0.0.0", port: 5020 }, target: { host: "plc", port: 502 } }],
    ["localhost:8080:10.0.0.5:80", { listen: { host: "localhost", port: 8080 }, target: { host: "10.0.0.5", port: 80 } }],
    ["5020:[fd00::10]:502", { listen: { host: "127.0.0.1", port: 5020 }, target: { host: "fd00::10", port: 502 } }],
    ["[::1]:5020:[fd00::10]:502", { listen: { host: "::1", port: 5020 }, target: { host: "fd00::10", port: 502 } }],
    ["[::1]:5020:10.0.0.5:502", { listen: { host: "::1", port: 5020 }, target: { host: "10.0.0.5", port: 502 } }],
    ["127.0.0.1:5020:[::ffff:10.0.0.5]:502", { listen: { host: "127.0.0.1", port: 5020 }, target: { host: "::ffff:10.0.0.5", port: 502 } }],
  ];
  for (const [text, expected] of valid) {
    it(`reads "${text}"`, () => assert.deepEqual(parseForward(text), expected));
  }

  it("uses the given default listen host when none is written", () => {
    assert.deepEqual(parseForward("5020:plc:502", "::1").listen, { host: "::1", port: 5020 });
  });

  const invalid = [
    "",
    "5020",
    "5020:502",
    "plc:502",
    "1:2:3:4:5",
    "5020:fd00::10:502",
    "5020:::1:502",
    "5020:plc:0",
    "5020:plc:65536",
    "70000:plc:502",
    "host:port:plc:502",
    "5020:plc::502",
    "5020:bad host:502",
    "5020:[]:502",
    "5020:[plc]x:502",
    "bad host:5020:plc:502",
  ];
  for (const text of invalid) {
    it(`rejects "${text}" with invalid-target`, () => rejects(() => parseForward(text)));
  }

  // The tokenizer only picks out bracketed groups and colon-free runs; it never checks that
  // they are separated by exactly one colon, so stray or missing separators slip through.
  const misjoined = ["5020:[fd00::10]502", "[::1]5020:plc:502", ":5020:plc:502", "5020:plc:502:"];
  for (const text of misjoined) {
    it(`rejects "${text}", whose parts are not separated by single colons`, () => rejects(() => parseForward(text)));
  }

  it("round-trips any listen/target pair written with formatHostPort", () => {
    fc.assert(
      fc.property(fc.record({ host, port: fc.integer({ min: 0, max: 65535 }) }, { noNullPrototype: true }), hostPort, (listen, target) => {
        const text = `${formatHostPort(listen)}:${formatHostPort(target)}`;
        assert.deepEqual(parseForward(text), { listen, target });
      }),
      { numRuns: 300 },
    );
  });
});

describe("parseListen", () => {
  const valid: [string, HostPort][] = [
    ["1080", { host: "127.0.0.1", port: 1080 }],
    ["0", { host: "127.0.0.1", port: 0 }],
    ["0.0.0.0:1080", { host: "0.0.0.0", port: 1080 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ["[::1]:1080", { host: "::1", port: 1080 }],
    ["[::]:0", { host: "::", port: 0 }],
  ];
  for (const [text, expected] of valid) {
    it(`reads "${text}"`, () => assert.deepEqual(parseListen(text), expected));
  }

  it("uses the given default host for a bare port", () => {
    assert.deepEqual(parseListen("1080", "0.0.0.0"), { host: "0.0.0.0", port: 1080 });
  });

  const invalid = ["", "65536", "-1", "::1:1080", "host:", ":1080", "host:99999", "bad host:1"];
  for (const text of invalid) {
    it(`rejects "${text}" with invalid-target`, () => rejects(() => parseListen(text)));
  }
});
