import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { vncAuthResponse, vncPasswordFile } from "./vnc-auth.js";

/** noVNC's own VNC DES (key bits reversed inside), the reference the browser side uses. */
interface NoVncDes {
  DESECBCipher: { importKey(key: number[]): { encrypt(algorithm: unknown, plaintext: Uint8Array): Uint8Array } };
}
const noVncDes = (await import(new URL("../../node_modules/@novnc/novnc/core/crypto/des.js", import.meta.url).href)) as NoVncDes;

function noVncResponse(password: string, challenge: Uint8Array): Buffer {
  const key = [...password].map((c) => c.charCodeAt(0));
  return Buffer.from(noVncDes.DESECBCipher.importKey(key).encrypt(null, challenge));
}

// Computed with noVNC's RFB.genDES algorithm (core/crypto/des.js).
const RESPONSES: [password: string, challenge: string, response: string][] = [
  ["password", "000102030405060708090a0b0c0d0e0f", "b866924125c8eebb9debc1db61c538e2"],
  ["secret12", "00000000000000000000000000000000", "40377308e205e62240377308e205e622"],
  ["", "ffffffffffffffffffffffffffffffff", "355550b2150e2451355550b2150e2451"],
  ["longerthan8chars", "0123456789abcdeffedcba9876543210", "62bc9cfd0ca97fe22dc7cbd1295734ba"],
  ["abc", "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a", "397cbf789de2c0ac397cbf789de2c0ac"],
];

describe("vncAuthResponse", () => {
  for (const [password, challenge, response] of RESPONSES) {
    it(`answers challenge ${challenge} for password ${JSON.stringify(password)} as noVNC does`, () => {
      assert.equal(vncAuthResponse(password, Buffer.from(challenge, "hex")).toString("hex"), response);
    });
  }

  it("uses only the first 8 bytes of the password", () => {
    const challenge = Buffer.alloc(16, 7);
    assert.deepEqual(vncAuthResponse("12345678-ignored", challenge), vncAuthResponse("12345678", challenge));
  });

  it("agrees with noVNC for any ASCII password and challenge", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 12 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (password, challenge) => {
          assert.deepEqual(vncAuthResponse(password, challenge), noVncResponse(password, challenge));
        },
      ),
    );
  });

  it("rejects a challenge that is not 16 bytes long", () => {
    assert.throws(() => vncAuthResponse("pw", Buffer.alloc(15)), RangeError);
    assert.throws(() => vncAuthResponse("pw", Buffer.alloc(17)), RangeError);
  });
});

describe("vncPasswordFile", () => {
  // Outputs of TigerVNC's `vncpasswd -f`.
  const FILES: [string, string][] = [
    ["secret12", "24b5ae4ce15503c6"],
    ["password", "dbd83cfd727a1458"],
    ["abc", "9c0a172d3482e122"],
    ["longerthan8chars", "e520dd266ad75a93"],
  ];
  for (const [password, file] of FILES) {
    it(`writes ${JSON.stringify(password)} as vncpasswd does`, () => {
      assert.equal(vncPasswordFile(password).toString("hex"), file);
    });
  }
});
