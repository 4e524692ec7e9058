import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, generateKeyPairSync, type webcrypto, X509Certificate } from "node:crypto";
import { describe, test } from "node:test";
import type { PeerCertificate } from "node:tls";
import { FernlinkError } from "../protocol/errors.js";
import {
  accountIdFromCertificate,
  certificateInfo,
  createCsrPem,
  deviceIdFromCertificate,
  generateKeyPairPem,
  importEcKeyPair,
  NODE_URN_PREFIX,
  RELAY_URN_PREFIX,
  serialOf,
  urnIdFromCertificate,
} from "./pki.js";
import { x509 } from "./x509.js";

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof FernlinkError, `expected a FernlinkError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

function throwsWithCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FernlinkError, `expected a FernlinkError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** A self-signed test certificate with the given CN, SAN URIs and serial. */
async function makeCert(options: { cn: string; uris?: string[]; serial?: string }): Promise<string> {
  const { privateKeyPem } = await generateKeyPairPem();
  const keys = await importEcKeyPair(privateKeyPem);
  const extensions: x509.Extension[] = [];
  if (options.uris !== undefined) {
    extensions.push(new x509.SubjectAlternativeNameExtension(options.uris.map((value) => ({ type: "url" as const, value }))));
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    ...(options.serial === undefined ? {} : { serialNumber: options.serial }),
    name: [{ CN: [options.cn] }],
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2035-01-01T00:00:00Z"),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams,
    extensions,
  });
  return cert.toString("pem");
}

describe("pki key pairs and CSRs", () => {
  test("a generated key pair is ECDSA P-256 with a PKCS#8 private key and matching public key", async () => {
    const { privateKeyPem, publicKeyPem } = await generateKeyPairPem();
    assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.match(publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    const key = createPrivateKey(privateKeyPem);
    assert.equal(key.asymmetricKeyType, "ec");
    assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const derived = createPublicKey(key).export({ type: "spki", format: "pem" });
    assert.equal(derived, publicKeyPem);
  });

  test("a CSR is self-signed with ECDSA SHA-256 by the given key and carries the common name", async () => {
    const { privateKeyPem, publicKeyPem } = await generateKeyPairPem();
    const pem = await createCsrPem(privateKeyPem, { commonName: "agent, with=odd chars" });
    assert.match(pem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const csr = new x509.Pkcs10CertificateRequest(pem);
    assert.equal(await csr.verify(), true);
    assert.deepEqual(csr.subjectName.getField("CN"), ["agent, with=odd chars"]);
    assert.equal(csr.subjectName.getField("O").length, 0);
    assert.deepEqual(csr.signatureAlgorithm, { name: "ECDSA", hash: { name: "SHA-256" } });
    const spki = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
    assert.ok(spki.equals(Buffer.from(csr.publicKey.rawData)));
  });

  test("a CSR is refused for keys that are not ECDSA P-256 and for an empty common name", async () => {
    const ed25519 = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await rejectsWithCode(createCsrPem(ed25519, { commonName: "x" }), "invalid-input");
    await rejectsWithCode(createCsrPem(p384, { commonName: "x" }), "invalid-input");
    await rejectsWithCode(createCsrPem("not a key", { commonName: "x" }), "invalid-input");
    const { privateKeyPem } = await generateKeyPairPem();
    await rejectsWithCode(createCsrPem(privateKeyPem, { commonName: "" }), "invalid-input");
  });
});

describe("pki serials", () => {
  test("serialOf lowercases and drops colons, whitespace and leading zeros", () => {
    assert.equal(serialOf("00:AB:CD"), "abcd");
    assert.equal(serialOf("0A1B"), "a1b");
    assert.equal(serialOf(" 7f 00 "), "7f00");
    assert.equal(serialOf("0000"), "0");
    assert.equal(serialOf({ serialNumber: "5A5A" }), "5a5a");
    throwsWithCode(() => serialOf("xyz"), "invalid-input");
    throwsWithCode(() => serialOf(""), "invalid-input");
  });

  test("node's serial and certificateInfo's serial agree, also with a leading zero or the top bit set", async () => {
    for (const serial of ["0a1b2c3d4e5f60718293a4b5c6d7e8f9", "ff1b2c3d4e5f60718293a4b5c6d7e8f9", "4a1b2c3d4e5f60718293a4b5c6d7e8f9"]) {
      const pem = await makeCert({ cn: "s", serial });
      const expected = serial.replace(/^0+/, "");
      assert.equal(certificateInfo(pem).serial, expected);
      assert.equal(serialOf(new X509Certificate(pem)), expected);
    }
  });
});

describe("pki certificate identity", () => {
  test("certificateInfo reads serial, CN, device id and expiry", async () => {
    const pem = await makeCert({ cn: "dev-1", uris: ["urn:fernlink:device:dev-1", "urn:fernlink:account:acct-9"] });
    const info = certificateInfo(pem);
    assert.match(info.serial, /^[0-9a-f]+$/);
    assert.equal(info.subjectCN, "dev-1");
    assert.equal(info.deviceId, "dev-1");
    assert.equal(info.notAfter.toISOString(), "2035-01-01T00:00:00.000Z");
    throwsWithCode(() => certificateInfo("garbage"), "invalid-input");
  });

  test("the device id comes from the SAN URI even when the CN says otherwise", async () => {
    const cert = new X509Certificate(await makeCert({ cn: "something-else", uris: ["urn:fernlink:device:dev-2", "urn:fernlink:account:acct-3"] }));
    assert.equal(deviceIdFromCertificate(cert), "dev-2");
    assert.equal(accountIdFromCertificate(cert), "acct-3");
  });

  test("without a device SAN URI the device id falls back to the CN and there is no account", async () => {
    const pem = await makeCert({ cn: "legacy-device" });
    const cert = new X509Certificate(pem);
    assert.equal(deviceIdFromCertificate(cert), "legacy-device");
    assert.equal(accountIdFromCertificate(cert), undefined);
    assert.equal(certificateInfo(pem).deviceId, "legacy-device");
  });

  test("two device SAN URIs are ambiguous and give no device id", async () => {
    const cert = new X509Certificate(await makeCert({ cn: "a", uris: ["urn:fernlink:device:a", "urn:fernlink:device:b"] }));
    assert.equal(deviceIdFromCertificate(cert), undefined);
  });

  test("a TLS peer's certificate gives the same ids from Node's printed SAN as from the full parse", async () => {
    // getPeerCertificate() carries `subjectaltname` in the form X509Certificate.subjectAltName has.
    const peer = (pem: string): PeerCertificate => {
      const cert = new X509Certificate(pem);
      return { raw: cert.raw, subjectaltname: cert.subjectAltName } as PeerCertificate;
    };
    const plain = await makeCert({ cn: "other", uris: ["urn:fernlink:device:dev-7", "urn:fernlink:account:acct-1", "urn:fernlink:node:n-1"] });
    assert.equal(deviceIdFromCertificate(peer(plain)), "dev-7");
    assert.equal(accountIdFromCertificate(peer(plain)), "acct-1");
    assert.equal(urnIdFromCertificate(peer(plain), NODE_URN_PREFIX), "n-1");
    assert.equal(urnIdFromCertificate(peer(plain), RELAY_URN_PREFIX), undefined);
    const two = await makeCert({ cn: "a", uris: ["urn:fernlink:device:a", "urn:fernlink:device:b"] });
    assert.equal(deviceIdFromCertificate(peer(two)), undefined);
    // Node quotes an entry with a comma: that certificate is read by the full parse, whole.
    const quoted = await makeCert({ cn: "q", uris: ["urn:fernlink:device:x, URI:urn:fernlink:device:y"] });
    assert.match(new X509Certificate(quoted).subjectAltName ?? "", /"/);
    assert.equal(deviceIdFromCertificate(peer(quoted)), "x, URI:urn:fernlink:device:y");
    assert.equal(deviceIdFromCertificate(peer(await makeCert({ cn: "legacy" }))), "legacy");
  });

  test("an absent peer certificate gives no device id", () => {
    assert.equal(deviceIdFromCertificate({} as PeerCertificate), undefined);
    assert.equal(accountIdFromCertificate({} as PeerCertificate), undefined);
  });
});
