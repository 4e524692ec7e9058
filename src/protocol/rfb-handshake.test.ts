import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type ErrorCode, FernlinkError } from "./errors.js";
import {
  CLIENT_INIT_SHARED,
  decodeServerInit,
  downstreamHandshake,
  downstreamRefusal,
  type RfbHandshake,
  upstreamHandshake,
  versionLine,
} from "./rfb-handshake.js";
import { vncAuthResponse } from "./vnc-auth.js";

const b = (...parts: (string | number[] | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
const u32 = (n: number): Buffer => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n);
  return out;
};
const reason = (text: string): Buffer => b(u32(Buffer.byteLength(text)), text);

/** Everything a handshake sent and how it ended, for input fed in the given chunks. */
function drive<R>(handshake: RfbHandshake<R>, chunks: Buffer[]): { sent: Buffer; result?: R; rest?: Buffer } {
  const sent: Buffer[] = [handshake.start().send];
  for (const chunk of chunks) {
    const step = handshake.receive(chunk);
    sent.push(step.send);
    if (step.done)
      return { sent: Buffer.concat(sent), result: step.done.result, rest: Buffer.concat([step.done.rest, ...chunks.slice(chunks.indexOf(chunk) + 1)]) };
  }
  return { sent: Buffer.concat(sent) };
}

/** `bytes` cut at the given positions into non-empty chunks. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  if (bytes.length === 0) return [];
  const points = [...new Set(cuts.map((c) => 1 + (c % bytes.length)))].filter((p) => p < bytes.length).sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  return chunks;
}

function assertCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FernlinkError, `expected a FernlinkError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

const CHALLENGE = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
const PASSWORD = "s3cret!";
const RESPONSE = vncAuthResponse(PASSWORD, CHALLENGE);

interface UpstreamCase {
  what: string;
  password: string | undefined;
  /** What the VNC server sends, all of it. */
  server: Buffer;
  /** What we must send. */
  client: Buffer;
  version: string;
  securityType: number;
}

const UPSTREAM_OK: UpstreamCase[] = [
  {
    what: "RFB 3.8 with VNC Authentication",
    password: PASSWORD,
    server: b("RFB 003.008\n", [2, 1, 2], CHALLENGE, u32(0)),
    client: b("RFB 003.008\n", [2], RESPONSE),
    version: "3.8",
    securityType: 2,
  },
  {
    what: "RFB 3.8 with None when no password is stored",
    password: undefined,
    server: b("RFB 003.008\n", [2, 2, 1], u32(0)),
    client: b("RFB 003.008\n", [1]),
    version: "3.8",
    securityType: 1,
  },
  {
    what: "RFB 3.7 with None, which has no SecurityResult",
    password: PASSWORD,
    server: b("RFB 003.007\n", [1, 1]),
    client: b("RFB 003.007\n", [1]),
    version: "3.7",
    securityType: 1,
  },
  {
    what: "RFB 3.7 with VNC Authentication",
    password: PASSWORD,
    server: b("RFB 003.007\n", [3, 16, 2, 19], CHALLENGE, u32(0)),
    client: b("RFB 003.007\n", [2], RESPONSE),
    version: "3.7",
    securityType: 2,
  },
  {
    what: "RFB 3.3 where the server decides VNC Authentication",
    password: PASSWORD,
    server: b("RFB 003.003\n", u32(2), CHALLENGE, u32(0)),
    client: b("RFB 003.003\n", RESPONSE),
    version: "3.3",
    securityType: 2,
  },
  {
    what: "RFB 3.3 where the server decides None",
    password: undefined,
    server: b("RFB 003.003\n", u32(1)),
    client: b("RFB 003.003\n"),
    version: "3.3",
    securityType: 1,
  },
  {
    what: "Apple's 3.889 answered as 3.8",
    password: undefined,
    server: b("RFB 003.889\n", [1, 1], u32(0)),
    client: b("RFB 003.008\n", [1]),
    version: "3.8",
    securityType: 1,
  },
  {
    what: "RealVNC's 5.0 answered as 3.8",
    password: undefined,
    server: b("RFB 005.000\n", [1, 1], u32(0)),
    client: b("RFB 003.008\n", [1]),
    version: "3.8",
    securityType: 1,
  },
  {
    what: "UltraVNC's 3.6 answered as 3.3",
    password: undefined,
    server: b("RFB 003.006\n", u32(1)),
    client: b("RFB 003.003\n"),
    version: "3.3",
    securityType: 1,
  },
];

describe("upstreamHandshake", () => {
  for (const c of UPSTREAM_OK) {
    it(`completes ${c.what}`, () => {
      const out = drive(upstreamHandshake({ password: c.password, label: "press-7/panel" }), [c.server]);
      assert.equal(out.sent.toString("hex"), c.client.toString("hex"));
      assert.deepEqual(out.result, { version: c.version, securityType: c.securityType });
      assert.equal(out.rest?.length, 0);
    });
  }

  it("gives the same bytes and result however the server's bytes are split", () => {
    fc.assert(
      fc.property(fc.constantFrom(...UPSTREAM_OK), fc.array(fc.nat(), { maxLength: 40 }), fc.uint8Array({ maxLength: 8 }), (c, cuts, trailing) => {
        const out = drive(upstreamHandshake({ password: c.password, label: "t" }), split(b(c.server, Buffer.from(trailing)), cuts));
        assert.equal(out.sent.toString("hex"), c.client.toString("hex"));
        assert.deepEqual(out.result, { version: c.version, securityType: c.securityType });
        assert.equal(out.rest?.toString("hex"), Buffer.from(trailing).toString("hex"));
      }),
    );
  });

  it("completes every case when the server's bytes arrive one at a time", () => {
    for (const c of UPSTREAM_OK) {
      const out = drive(
        upstreamHandshake({ password: c.password, label: "t" }),
        [...c.server].map((byte) => Buffer.from([byte])),
      );
      assert.equal(out.sent.toString("hex"), c.client.toString("hex"), c.what);
      assert.deepEqual(out.result, { version: c.version, securityType: c.securityType }, c.what);
    }
  });

  it("waits for more bytes without sending anything while a message is incomplete", () => {
    const hs = upstreamHandshake({ password: PASSWORD, label: "t" });
    assert.equal(hs.start().send.length, 0);
    assert.deepEqual(hs.receive(b("RFB 003.0")), { send: Buffer.alloc(0) });
    assert.deepEqual(hs.receive(Buffer.alloc(0)), { send: Buffer.alloc(0) });
    assert.equal(hs.receive(b("08\n")).send.toString("latin1"), "RFB 003.008\n");
  });

  const failures: [string, string | undefined, Buffer, ErrorCode, RegExp][] = [
    ["a greeting that is not RFB", PASSWORD, b("HTTP/1.1 200"), "vnc-handshake-failed", /sent no RFB protocol version \(got "HTTP\/1\.1 200"\)/],
    ["a version line without its newline", PASSWORD, b("RFB 003.008 "), "vnc-handshake-failed", /no RFB protocol version/],
    ["a version older than 3.3", PASSWORD, b("RFB 003.002\n"), "vnc-handshake-failed", /older than 3\.3/],
    ["an UltraVNC repeater", PASSWORD, b("RFB 000.000\n"), "vnc-handshake-failed", /older than 3\.3/],
    [
      "only unsupported security types",
      PASSWORD,
      b("RFB 003.008\n", [2, 16, 19]),
      "vnc-handshake-failed",
      /offers no supported security type \(offered: 16, 19\)/,
    ],
    ["VNC Authentication only, and no stored password", undefined, b("RFB 003.008\n", [1, 2]), "vnc-auth-failed", /asks for a password, but none is stored/],
    ["RFB 3.3 VNC Authentication and no stored password", undefined, b("RFB 003.003\n", u32(2)), "vnc-auth-failed", /none is stored/],
    ["an RFB 3.3 unsupported type", PASSWORD, b("RFB 003.003\n", u32(16)), "vnc-handshake-failed", /\(offered: 16\)/],
    [
      "an empty type list with a reason",
      PASSWORD,
      b("RFB 003.008\n", [0], reason("too many connections")),
      "vnc-handshake-failed",
      /refused the connection: "too many connections"/,
    ],
    [
      "an RFB 3.3 refusal with a reason",
      PASSWORD,
      b("RFB 003.003\n", u32(0), reason("go away\n")),
      "vnc-handshake-failed",
      /refused the connection: "go away"/,
    ],
    ["a reason string longer than 64 KiB", PASSWORD, b("RFB 003.008\n", [0], u32(70_000)), "vnc-handshake-failed", /70000 bytes/],
    [
      "a refused password on RFB 3.8, with its reason",
      PASSWORD,
      b("RFB 003.008\n", [1, 2], CHALLENGE, u32(1), reason("Authentication failed")),
      "vnc-auth-failed",
      /refused the stored password of target "press-7\/panel" \(it said: "Authentication failed"\)/,
    ],
    [
      "a refused password on RFB 3.7",
      PASSWORD,
      b("RFB 003.007\n", [1, 2], CHALLENGE, u32(1)),
      "vnc-auth-failed",
      /refused the stored password of target "press-7\/panel"$/,
    ],
    ["a refused password on RFB 3.3", PASSWORD, b("RFB 003.003\n", u32(2), CHALLENGE, u32(2)), "vnc-auth-failed", /refused the stored password/],
    ["a failed SecurityResult after None", undefined, b("RFB 003.008\n", [1, 1], u32(1), reason("")), "vnc-handshake-failed", /refused the connection$/],
  ];
  for (const [what, password, server, code, message] of failures) {
    it(`rejects ${what} with "${code}"`, () => {
      assertCode(() => drive(upstreamHandshake({ password, label: "press-7/panel" }), [server]), code, message);
    });
  }

  it("rejects malformed input however it is split", () => {
    fc.assert(
      fc.property(fc.constantFrom(...failures), fc.array(fc.nat(), { maxLength: 20 }), ([, password, server, code], cuts) => {
        assertCode(() => drive(upstreamHandshake({ password, label: "t" }), split(server, cuts)), code);
      }),
    );
  });

  it("never throws anything but a FernlinkError on arbitrary server bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, withVersion) => {
        const input = withVersion ? b("RFB 003.008\n", Buffer.from(bytes)) : Buffer.from(bytes);
        try {
          drive(upstreamHandshake({ password: PASSWORD, label: "t" }), [input]);
        } catch (err) {
          assert.ok(err instanceof FernlinkError, String(err));
        }
      }),
    );
  });

  it("refuses to be fed after it failed", () => {
    const hs = upstreamHandshake({ password: PASSWORD, label: "t" });
    hs.start();
    assertCode(() => hs.receive(b("RFB 009.bad\n")), "vnc-handshake-failed");
    assert.throws(() => hs.receive(b("x")), /after it finished/);
  });
});

describe("downstreamHandshake", () => {
  const cases: [string, Buffer, Buffer, string][] = [
    ["a 3.8 viewer (noVNC)", b("RFB 003.008\n", [1]), b("RFB 003.008\n", [1, 1], u32(0)), "3.8"],
    ["a 3.7 viewer, without SecurityResult", b("RFB 003.007\n", [1]), b("RFB 003.008\n", [1, 1]), "3.7"],
    ["a 3.3 viewer, told None", b("RFB 003.003\n"), b("RFB 003.008\n", u32(1)), "3.3"],
    ["a 3.5 viewer as 3.3", b("RFB 003.005\n"), b("RFB 003.008\n", u32(1)), "3.3"],
  ];
  for (const [what, viewer, server, version] of cases) {
    it(`offers only None to ${what}`, () => {
      const out = drive(downstreamHandshake(), [b(viewer, CLIENT_INIT_SHARED)]);
      assert.equal(out.sent.toString("hex"), server.toString("hex"));
      assert.deepEqual(out.result, { version });
      assert.deepEqual(out.rest, CLIENT_INIT_SHARED);
    });
  }

  it("sends its version line first", () => {
    assert.equal(downstreamHandshake().start().send.toString("latin1"), "RFB 003.008\n");
  });

  it("gives the same bytes, result and rest however the viewer's bytes are split", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...cases),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.uint8Array({ maxLength: 30 }),
        ([, viewer, server, version], cuts, after) => {
          const out = drive(downstreamHandshake(), split(b(viewer, Buffer.from(after)), cuts));
          assert.equal(out.sent.toString("hex"), server.toString("hex"));
          assert.deepEqual(out.result, { version });
          assert.equal(out.rest?.toString("hex"), Buffer.from(after).toString("hex"));
        },
      ),
    );
  });

  const bad: [string, Buffer][] = [
    ["an HTTP request", b("GET / HTTP/1.1\r\n")],
    ["a version above 3.8", b("RFB 003.009\n")],
    ["RFB 4", b("RFB 004.001\n")],
    ["a version below 3.3", b("RFB 003.002\n")],
    ["a choice of VNC Authentication, which was not offered", b("RFB 003.008\n", [2])],
    ["a choice of type 0", b("RFB 003.007\n", [0])],
  ];
  for (const [what, viewer] of bad) {
    it(`rejects ${what} with "invalid-input"`, () => {
      assertCode(() => drive(downstreamHandshake(), [viewer]), "invalid-input");
    });
  }

  it("completes against our own upstream handshake, whatever the chunking", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (cutsDown, cutsUp) => {
        const server = downstreamHandshake();
        const client = upstreamHandshake({ password: undefined, label: "t" });
        let toClient = server.start().send;
        let toServer = client.start().send;
        let serverDone: unknown;
        let clientDone: unknown;
        while (toClient.length > 0 || toServer.length > 0) {
          for (const chunk of split(toClient, cutsDown)) {
            const step = client.receive(chunk);
            toServer = Buffer.concat([toServer, step.send]);
            if (step.done) clientDone = step.done.result;
          }
          toClient = Buffer.alloc(0);
          for (const chunk of split(toServer, cutsUp)) {
            const step = server.receive(chunk);
            toClient = Buffer.concat([toClient, step.send]);
            if (step.done) serverDone = step.done.result;
          }
          toServer = Buffer.alloc(0);
        }
        assert.deepEqual(serverDone, { version: "3.8" });
        assert.deepEqual(clientDone, { version: "3.8", securityType: 1 });
      }),
    );
  });
});

describe("downstreamRefusal", () => {
  it("tells a 3.8 viewer the reason with an empty security type list", () => {
    const out = drive(downstreamRefusal('device "press-7" is offline'), [b("RFB 003.008\n")]);
    assert.equal(out.sent.toString("hex"), b("RFB 003.008\n", [0], reason('device "press-7" is offline')).toString("hex"));
  });

  it("tells a 3.3 viewer the reason after security type 0", () => {
    const out = drive(downstreamRefusal("no"), [b("RFB 003.003\n")]);
    assert.equal(out.sent.toString("hex"), b("RFB 003.008\n", u32(0), reason("no")).toString("hex"));
  });

  it("is read back by our own upstream handshake as a refusal with that reason", () => {
    const refusal = drive(downstreamRefusal("über busy"), [b("RFB 003.008\n")]).sent;
    assertCode(() => drive(upstreamHandshake({ password: undefined, label: "t" }), [refusal]), "vnc-handshake-failed", /refused the connection: "über busy"/);
  });
});

describe("versionLine", () => {
  it("writes the 12-byte ProtocolVersion messages", () => {
    assert.equal(versionLine("3.3").toString("latin1"), "RFB 003.003\n");
    assert.equal(versionLine("3.7").toString("latin1"), "RFB 003.007\n");
    assert.equal(versionLine("3.8").toString("latin1"), "RFB 003.008\n");
  });
});

describe("decodeServerInit", () => {
  const pixelFormat = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0];
  const message = b([0x02, 0x80, 0x01, 0xe0], pixelFormat, reason("x11 desktop"));

  it("reads size, pixel format and name", () => {
    assert.deepEqual(decodeServerInit(b(message, [0, 0])), {
      width: 640,
      height: 480,
      pixelFormat: {
        bitsPerPixel: 32,
        depth: 24,
        bigEndian: false,
        trueColour: true,
        redMax: 255,
        greenMax: 255,
        blueMax: 255,
        redShift: 16,
        greenShift: 8,
        blueShift: 0,
      },
      name: "x11 desktop",
      length: message.length,
    });
  });

  it("waits while the message is incomplete", () => {
    for (let n = 0; n < message.length; n++) assert.equal(decodeServerInit(message.subarray(0, n)), undefined);
  });

  it("rejects a desktop name longer than 64 KiB", () => {
    assertCode(() => decodeServerInit(b([0, 1, 0, 1], pixelFormat, u32(100_000))), "vnc-handshake-failed");
  });
});
