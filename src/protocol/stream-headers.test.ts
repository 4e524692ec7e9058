import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ERROR_STATUS, type ErrorCode, FernlinkError } from "./errors.js";
import {
  connectHeaders,
  errorFromResponse,
  errorResponseHeaders,
  HEADER,
  protocolHeaders,
  readConnectTarget,
  readHeader,
  readStreamProtocol,
  streamTargetLabel,
} from "./stream-headers.js";
import { type HostPort, TargetSyntaxError } from "./target.js";

const CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

function isInvalidInput(err: unknown): boolean {
  return err instanceof FernlinkError && err.code === "invalid-input";
}

describe("readConnectTarget", () => {
  const valid: [string, HostPort][] = [
    ["192.168.1.10:502", { host: "192.168.1.10", port: 502 }],
    ["plc.local:80", { host: "plc.local", port: 80 }],
    ["[fd00::10]:502", { host: "fd00::10", port: 502 }],
  ];
  for (const [authority, target] of valid) {
    it(`reads the CONNECT target "${authority}"`, () => {
      assert.deepEqual(readConnectTarget({ ":method": "CONNECT", ":authority": authority }), target);
    });
  }

  it("takes the first value of a repeated :authority", () => {
    assert.deepEqual(readConnectTarget({ ":method": "CONNECT", ":authority": ["10.0.0.1:1", "10.0.0.2:2"] }), { host: "10.0.0.1", port: 1 });
  });

  const refused: [string, Record<string, string | string[] | undefined>][] = [
    ["a GET request", { ":method": "GET", ":authority": "10.0.0.1:80" }],
    ["a lower-case connect method", { ":method": "connect", ":authority": "10.0.0.1:80" }],
    ["a request without a method", { ":authority": "10.0.0.1:80" }],
    ["a CONNECT without :authority", { ":method": "CONNECT" }],
    ["a CONNECT with an empty :authority", { ":method": "CONNECT", ":authority": "" }],
    ["a CONNECT with an empty :authority list", { ":method": "CONNECT", ":authority": [] }],
    ["a CONNECT to a host without port", { ":method": "CONNECT", ":authority": "10.0.0.1" }],
    ["a CONNECT to port 0", { ":method": "CONNECT", ":authority": "10.0.0.1:0" }],
    ["a CONNECT to an unbracketed IPv6 address", { ":method": "CONNECT", ":authority": "fd00::1:502" }],
    ["a CONNECT to a host with a space", { ":method": "CONNECT", ":authority": "bad host:80" }],
  ];
  for (const [what, headers] of refused) {
    it(`refuses ${what} with invalid-input`, () => assert.throws(() => readConnectTarget(headers), isInvalidInput));
  }

  it("keeps the syntax error as the cause of a bad target", () => {
    assert.throws(
      () => readConnectTarget({ ":method": "CONNECT", ":authority": "nope" }),
      (err: unknown) => isInvalidInput(err) && (err as Error).cause instanceof TargetSyntaxError,
    );
  });
});

describe("readHeader", () => {
  it("reads strings, first values of lists, numbers, and missing headers", () => {
    const headers = { a: "x", b: ["first", "second"], c: 7, d: undefined };
    assert.equal(readHeader(headers, "a"), "x");
    assert.equal(readHeader(headers, "b"), "first");
    assert.equal(readHeader(headers, "c"), "7");
    assert.equal(readHeader(headers, "d"), undefined);
    assert.equal(readHeader(headers, "e"), undefined);
  });
});

describe("connectHeaders", () => {
  it("builds a CONNECT with the target as :authority", () => {
    assert.deepEqual(connectHeaders({ host: "10.0.0.1", port: 502 }), { ":method": "CONNECT", ":authority": "10.0.0.1:502" });
  });

  it("brackets an IPv6 target", () => {
    assert.equal(connectHeaders({ host: "fd00::1", port: 502 })[":authority"], "[fd00::1]:502");
  });

  it("adds the metadata headers", () => {
    const headers = connectHeaders({ host: "plc", port: 80 }, { [HEADER.streamId]: "s1", [HEADER.user]: "alice" });
    assert.equal(headers[HEADER.streamId], "s1");
    assert.equal(headers[HEADER.user], "alice");
  });

  it("is read back by readConnectTarget for any IPv4 or IPv6 target", () => {
    const target = fc.record({ host: fc.oneof(fc.ipV4(), fc.ipV6()), port: fc.integer({ min: 1, max: 65535 }) }, { noNullPrototype: true });
    fc.assert(fc.property(target, (t) => assert.deepEqual(readConnectTarget(connectHeaders(t)), t)));
  });
});

describe("errorResponseHeaders and errorFromResponse", () => {
  for (const code of CODES) {
    it(`round-trip the code "${code}", its status and the reason`, () => {
      const headers = errorResponseHeaders(new FernlinkError(code, `refused because of ${code}`));
      assert.equal(headers[":status"], ERROR_STATUS[code]);
      assert.equal(headers[HEADER.errorCode], code);
      const back = errorFromResponse(headers);
      assert.ok(back instanceof FernlinkError);
      assert.equal(back.code, code);
      assert.equal(back.status, ERROR_STATUS[code]);
      assert.equal(back.message, `refused because of ${code}`);
    });
  }

  const unsafe: [string, string, string][] = [
    ["umlauts", "Gerät für Halle 3 ist aus", "Ger?t f?r Halle 3 ist aus"],
    ["line breaks", "line one\r\nline two", "line one??line two"],
    ["a tab and NUL", "a\tb\0c", "a?b?c"],
    ["DEL", "x\x7fy", "x?y"],
  ];
  for (const [what, message, reason] of unsafe) {
    it(`replace ${what} in the reason with "?"`, () => {
      const headers = errorResponseHeaders(new FernlinkError("target-refused", message));
      assert.equal(headers[HEADER.reason], reason);
    });
  }

  it("always produce a reason of at most 500 printable ASCII characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 700 }), (message) => {
        const reason = String(errorResponseHeaders(new FernlinkError("internal", message))[HEADER.reason]);
        assert.match(reason, /^[\x20-\x7e]*$/);
        assert.ok(reason.length <= 500);
      }),
    );
  });

  it("cut a long reason to 500 characters", () => {
    const headers = errorResponseHeaders(new FernlinkError("internal", "x".repeat(2000)));
    assert.equal(headers[HEADER.reason], "x".repeat(500));
  });

  const unknown: [string, Record<string, string | number>, ErrorCode][] = [
    ["an unknown code", { ":status": 418, [HEADER.errorCode]: "teapot", [HEADER.reason]: "short and stout" }, "internal"],
    ["an unknown code with status 403", { ":status": 403, [HEADER.errorCode]: "nope" }, "internal"],
    ["a prototype key as code", { ":status": 400, [HEADER.errorCode]: "__proto__" }, "internal"],
    ["no code and status 500", { ":status": 500 }, "internal"],
    ["no code and status 502", { ":status": 502 }, "internal"],
    ["no code and status 401", { ":status": 401 }, "unauthenticated"],
  ];
  for (const [what, headers, code] of unknown) {
    it(`turn ${what} into "${code}"`, () => assert.equal(errorFromResponse(headers).code, code));
  }

  it("keep the peer's reason for an unknown code", () => {
    assert.equal(errorFromResponse({ ":status": 418, [HEADER.errorCode]: "teapot", [HEADER.reason]: "short and stout" }).message, "short and stout");
  });

  it("fall back to a reason naming the status", () => {
    assert.match(errorFromResponse({ ":status": 502 }).message, /502/);
  });
});

describe("stream protocol", () => {
  it("is TCP without the header, UDP when marked, and refuses anything else", () => {
    assert.equal(readStreamProtocol({}), "tcp");
    assert.equal(readStreamProtocol({ [HEADER.protocol]: "tcp" }), "tcp");
    assert.equal(readStreamProtocol(protocolHeaders("udp")), "udp");
    assert.deepEqual(protocolHeaders("tcp"), {});
    assert.throws(
      () => readStreamProtocol({ [HEADER.protocol]: "sctp" }),
      (err: unknown) => err instanceof FernlinkError && err.code === "invalid-input",
    );
  });

  it("labels UDP targets for people", () => {
    assert.equal(streamTargetLabel({ host: "10.1.2.3", port: 53 }, "udp"), "10.1.2.3:53/udp");
    assert.equal(streamTargetLabel({ host: "::1", port: 161 }, "udp"), "[::1]:161/udp");
    assert.equal(streamTargetLabel({ host: "plc", port: 502 }, undefined), "plc:502");
  });
});
