import assert from "node:assert/strict";
import { isIP } from "node:net";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FernlinkError } from "../protocol/errors.js";
import type { HostPort } from "../protocol/target.js";
import {
  ATYP,
  CMD,
  encodeMethodSelection,
  encodeReply,
  encodeUdpDatagram,
  METHOD,
  negotiateMethod,
  parseUdpDatagram,
  REP,
  replyCodeFor,
  Socks5Error,
  Socks5FragmentError,
  type Socks5Message,
  Socks5MethodError,
  Socks5Parser,
} from "./socks5-codec.js";

// The client side is encoded here, independently of the parser under test.
function encodeGreeting(methods: readonly number[]): Buffer {
  return Buffer.from([5, methods.length, ...methods]);
}

function ipv6Bytes(text: string): number[] {
  const plain = text.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_m, a: string, b: string, c: string, d: string) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [left = "", right] = plain.split("::");
  const head = left === "" ? [] : left.split(":");
  const tail = right === undefined || right === "" ? [] : right.split(":");
  const groups = right === undefined ? head : [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

function encodeRequest({ host, port }: HostPort, cmd: number = CMD.connect): Buffer {
  const addr =
    isIP(host) === 4
      ? [ATYP.ipv4, ...host.split(".").map(Number)]
      : isIP(host) === 6
        ? [ATYP.ipv6, ...ipv6Bytes(host)]
        : [ATYP.domain, host.length, ...Buffer.from(host, "latin1")];
  return Buffer.from([5, cmd, 0, ...addr, port >> 8, port & 0xff]);
}

const GREETING = encodeGreeting([METHOD.noAuth]);

function feed(chunks: Buffer[]): { messages: Socks5Message[]; rest: Buffer } {
  const parser = new Socks5Parser();
  const messages: Socks5Message[] = [];
  const rest: Buffer[] = [];
  for (const chunk of chunks) {
    const out = parser.push(chunk);
    messages.push(...out.messages);
    rest.push(out.rest);
  }
  return { messages, rest: Buffer.concat(rest) };
}

function bytewise(buf: Buffer): Buffer[] {
  return [...buf].map((b) => Buffer.from([b]));
}

function splitAt(buf: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  return [...cuts, buf.length].map((end, i) => buf.subarray(i === 0 ? 0 : cuts[i - 1], end));
}

const CASES: Array<{ name: string; bytes: number[]; target: HostPort }> = [
  { name: "an IPv4", bytes: [5, 1, 0, 1, 192, 168, 1, 10, 0x01, 0xf6], target: { host: "192.168.1.10", port: 502 } },
  { name: "an IPv6 loopback", bytes: [5, 1, 0, 4, ...Array<number>(15).fill(0), 1, 0, 80], target: { host: "::1", port: 80 } },
  {
    name: "an IPv6",
    bytes: [5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0x1f, 0x90],
    target: { host: "2001:db8::1:0:0:1", port: 8080 },
  },
  { name: "a domain name", bytes: [5, 1, 0, 3, 9, ...Buffer.from("plc.local"), 0x01, 0xbb], target: { host: "plc.local", port: 443 } },
];

describe("SOCKS5 codec", () => {
  for (const { name, bytes, target } of CASES) {
    it(`parses ${name} request fed whole, byte at a time and with pipelined payload`, () => {
      const request = Buffer.from(bytes);
      assert.deepEqual(encodeRequest(target), request);
      const expected = [
        { type: "greeting", methods: [METHOD.noAuth] },
        { type: "request", command: "connect", target },
      ];
      assert.deepEqual(feed([Buffer.concat([GREETING, request])]), { messages: expected, rest: Buffer.alloc(0) });
      assert.deepEqual(feed(bytewise(Buffer.concat([GREETING, request]))), { messages: expected, rest: Buffer.alloc(0) });
      const payload = Buffer.from("GET / HTTP/1.1\r\n\r\n");
      assert.deepEqual(feed([GREETING, Buffer.concat([request, payload])]), { messages: expected, rest: payload });
    });
  }

  it("hands back every byte pushed after the request as leftover", () => {
    const parser = new Socks5Parser();
    parser.push(Buffer.concat([GREETING, encodeRequest({ host: "10.0.0.1", port: 1 }), Buffer.from("ab")]));
    assert.deepEqual(parser.push(Buffer.from("cd")), { messages: [], rest: Buffer.from("cd") });
  });

  const MALFORMED: Array<{ name: string; chunks: number[][]; code: string; rep: number }> = [
    { name: "a SOCKS4 greeting", chunks: [[4, 1, 0, 80, 127, 0, 0, 1, 0]], code: "socks-bad-version", rep: REP.generalFailure },
    { name: "a greeting with no methods", chunks: [[5, 0]], code: "socks-malformed", rep: REP.generalFailure },
    {
      name: "a request with the wrong version",
      chunks: [
        [5, 1, 0],
        [4, 1, 0, 1],
      ],
      code: "socks-bad-version",
      rep: REP.generalFailure,
    },
    {
      name: "a BIND request",
      chunks: [
        [5, 1, 0],
        [5, CMD.bind, 0, 1, 1, 2, 3, 4, 0, 80],
      ],
      code: "socks-bad-command",
      rep: REP.commandNotSupported,
    },
    {
      name: "an unknown command",
      chunks: [
        [5, 1, 0],
        [5, 9],
      ],
      code: "socks-bad-command",
      rep: REP.commandNotSupported,
    },
    {
      name: "a non-zero reserved byte",
      chunks: [
        [5, 1, 0],
        [5, 1, 7],
      ],
      code: "socks-malformed",
      rep: REP.generalFailure,
    },
    {
      name: "an unknown address type",
      chunks: [
        [5, 1, 0],
        [5, 1, 0, 2],
      ],
      code: "socks-bad-address-type",
      rep: REP.addressTypeNotSupported,
    },
    {
      name: "an empty domain name",
      chunks: [
        [5, 1, 0],
        [5, 1, 0, 3, 0],
      ],
      code: "socks-malformed",
      rep: REP.generalFailure,
    },
    {
      name: "a domain name with control bytes",
      chunks: [
        [5, 1, 0],
        [5, 1, 0, 3, 3, 0x61, 0x0a, 0x62, 0, 80],
      ],
      code: "socks-malformed",
      rep: REP.generalFailure,
    },
    {
      name: "destination port 0",
      chunks: [
        [5, 1, 0],
        [5, 1, 0, 1, 10, 0, 0, 1, 0, 0],
      ],
      code: "socks-malformed",
      rep: REP.generalFailure,
    },
  ];
  for (const { name, chunks, code, rep } of MALFORMED) {
    it(`rejects ${name} with ${code}, even when fed byte by byte`, () => {
      for (const input of [chunks.map((c) => Buffer.from(c)), bytewise(Buffer.from(chunks.flat()))]) {
        assert.throws(
          () => feed(input),
          (err) => err instanceof Socks5Error && err.code === code && err.rep === rep,
        );
      }
    });
  }

  it("accepts only the no-auth method", () => {
    assert.equal(negotiateMethod([0x02, METHOD.noAuth]), METHOD.noAuth);
    assert.throws(() => negotiateMethod([0x02]), Socks5MethodError);
  });

  it("encodes method selections and replies with BND.ADDR 0.0.0.0:0", () => {
    assert.deepEqual(encodeMethodSelection(METHOD.noAcceptable), Buffer.from([5, 0xff]));
    assert.deepEqual(encodeReply(REP.connectionRefused), Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
  });

  it("maps failures to the REP code that describes them", () => {
    assert.equal(replyCodeFor(new FernlinkError("target-not-allowed", "x")), REP.notAllowed);
    assert.equal(replyCodeFor(new FernlinkError("forbidden", "x")), REP.notAllowed);
    assert.equal(replyCodeFor(new FernlinkError("target-refused", "x")), REP.connectionRefused);
    assert.equal(replyCodeFor(new FernlinkError("target-unreachable", "x")), REP.hostUnreachable);
    assert.equal(replyCodeFor(new FernlinkError("device-offline", "x")), REP.networkUnreachable);
    assert.equal(replyCodeFor(new FernlinkError("not-found", "x")), REP.networkUnreachable);
    assert.equal(replyCodeFor(new FernlinkError("target-timeout", "x")), REP.ttlExpired);
    assert.equal(replyCodeFor(new FernlinkError("internal", "x")), REP.generalFailure);
    assert.equal(replyCodeFor(new DOMException("late", "TimeoutError")), REP.ttlExpired);
    assert.equal(replyCodeFor(Object.assign(new Error("x"), { code: "ECONNREFUSED" })), REP.connectionRefused);
    assert.equal(replyCodeFor("weird"), REP.generalFailure);
  });

  it("parses any valid request back identically however the bytes are split", () => {
    // The WHATWG URL serializer is an independent RFC 5952 canonicalizer for IPv6 text.
    const canonical = (host: string) => (host.includes(":") ? new URL(`http://[${host}]/`).hostname.slice(1, -1) : host);
    const host = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.domain().filter((d) => d.length <= 253),
    );
    const input = fc.record({
      target: fc.record({ host, port: fc.integer({ min: 1, max: 65535 }) }),
      methods: fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 255 }),
      payload: fc.uint8Array({ maxLength: 64 }),
      cuts: fc.array(fc.nat(), { maxLength: 12 }),
    });
    fc.assert(
      fc.property(input, ({ target, methods, payload, cuts }) => {
        const wire = Buffer.concat([encodeGreeting(methods), encodeRequest(target), payload]);
        const out = feed(splitAt(wire, cuts));
        const request = { type: "request", command: "connect", target: { host: canonical(target.host), port: target.port } };
        assert.deepEqual(out, { messages: [{ type: "greeting", methods }, request], rest: Buffer.from(payload) });
      }),
      { numRuns: 500 },
    );
  });

  it("parses a UDP ASSOCIATE request, whose address may be all zeros", () => {
    for (const target of [
      { host: "0.0.0.0", port: 0 },
      { host: "127.0.0.1", port: 40_000 },
      { host: "::", port: 0 },
    ]) {
      assert.deepEqual(feed([GREETING, encodeRequest(target, CMD.udpAssociate)]).messages[1], { type: "request", command: "udp-associate", target });
    }
  });

  it("encodes a UDP ASSOCIATE reply with the relay's address", () => {
    assert.deepEqual(encodeReply(REP.succeeded, { host: "127.0.0.1", port: 0x1234 }), Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0x12, 0x34]));
    assert.deepEqual(encodeReply(REP.succeeded, { host: "::1", port: 53 }), Buffer.from([5, 0, 0, 4, ...Array<number>(15).fill(0), 1, 0, 53]));
  });

  const UDP_CASES: Array<{ name: string; bytes: number[]; target: HostPort; data: string }> = [
    { name: "IPv4", bytes: [0, 0, 0, 1, 10, 1, 2, 3, 0, 53, 0xab], target: { host: "10.1.2.3", port: 53 }, data: "ab" },
    { name: "IPv6", bytes: [0, 0, 0, 4, ...Array<number>(15).fill(0), 1, 0, 161], target: { host: "::1", port: 161 }, data: "" },
    { name: "a domain", bytes: [0, 0, 0, 3, 3, 0x70, 0x6c, 0x63, 0, 53, 1, 2], target: { host: "plc", port: 53 }, data: "0102" },
  ];
  for (const { name, bytes, target, data } of UDP_CASES) {
    it(`parses and encodes a UDP datagram to ${name}`, () => {
      const wire = Buffer.from(bytes);
      assert.deepEqual(parseUdpDatagram(wire), { target, data: Buffer.from(data, "hex") });
      assert.deepEqual(encodeUdpDatagram({ target, data: Buffer.from(data, "hex") }), wire);
    });
  }

  const UDP_MALFORMED: Array<{ name: string; bytes: number[]; error: abstract new (...args: never[]) => Socks5Error }> = [
    { name: "too short for a header", bytes: [0, 0, 0], error: Socks5Error },
    { name: "non-zero reserved bytes", bytes: [0, 1, 0, 1, 10, 0, 0, 1, 0, 53], error: Socks5Error },
    { name: "a fragment", bytes: [0, 0, 1, 1, 10, 0, 0, 1, 0, 53], error: Socks5FragmentError },
    { name: "an address cut short", bytes: [0, 0, 0, 1, 10, 0, 0], error: Socks5Error },
    { name: "an unknown address type", bytes: [0, 0, 0, 9, 10, 0, 0, 1, 0, 53], error: Socks5Error },
    { name: "port 0", bytes: [0, 0, 0, 1, 10, 0, 0, 1, 0, 0], error: Socks5Error },
  ];
  for (const { name, bytes, error } of UDP_MALFORMED) {
    it(`refuses a UDP datagram with ${name}`, () => assert.throws(() => parseUdpDatagram(Buffer.from(bytes)), error));
  }

  it("round-trips any UDP datagram and meets any bytes with a datagram or a SOCKS error", () => {
    const canonical = (host: string) => (host.includes(":") ? new URL(`http://[${host}]/`).hostname.slice(1, -1) : host);
    const target = fc.record({
      host: fc.oneof(
        fc.ipV4(),
        fc.ipV6(),
        fc.domain().filter((d) => d.length <= 253),
      ),
      port: fc.integer({ min: 1, max: 65535 }),
    });
    fc.assert(
      fc.property(target, fc.uint8Array({ maxLength: 1500 }), (t, data) => {
        const parsed = parseUdpDatagram(encodeUdpDatagram({ target: t, data: Buffer.from(data) }));
        assert.deepEqual(parsed, { target: { host: canonical(t.host), port: t.port }, data: Buffer.from(data) });
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          parseUdpDatagram(Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof Socks5Error, String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
