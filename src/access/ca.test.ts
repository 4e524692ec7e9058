import assert from "node:assert/strict";
import { createPublicKey, webcrypto, X509Certificate } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import { FernlinkError } from "../protocol/errors.js";
import { accountIdFromCertificate, certificateInfo, createCsrPem, deviceIdFromCertificate, generateKeyPairPem, serialOf } from "../shared/pki.js";
import { x509 } from "../shared/x509.js";
import type { Ca } from "./ca.js";
import { CA_CERT_FILE, CA_KEY_FILE, issueServerCertificate, loadOrCreateCa, signDeviceCsr } from "./ca.js";

const DEVICE_ID = "3f1e6c1a-5d2b-4c8e-9a7f-0b1c2d3e4f50";
const ACCOUNT_ID = "9b0c1d2e-3f40-4152-8364-758697a8b9ca";

let root: string;
const servers: tls.Server[] = [];
const sockets = new Set<tls.TLSSocket>();

before(async () => {
  root = await mkdtemp(join(tmpdir(), "fernlink-ca-test-"));
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  await rm(root, { recursive: true, force: true });
});

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<FernlinkError> {
  let caught: FernlinkError | undefined;
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof FernlinkError, `expected a FernlinkError, got ${String(err)}`);
    assert.equal(err.code, code);
    caught = err;
    return true;
  });
  assert.ok(caught);
  return caught;
}

/** Second-precision "now", so dates survive the round trip through a certificate exactly. */
function wholeSecondNow(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

interface ServerReport {
  authorized: boolean;
  authorizationError: string | null;
  deviceId: string | null;
  accountId: string | null;
  serial: string | null;
}

/** A TLS server that reports, to each client, what it saw of that client's certificate. */
async function startServer(options: tls.TlsOptions, host: string): Promise<number> {
  const server = tls.createServer(options, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const peer = socket.getPeerCertificate();
    const hasCert = peer.raw !== undefined;
    const report: ServerReport = {
      authorized: socket.authorized,
      // Typed as Error, but Node sets an OpenSSL code string, or null when authorized.
      authorizationError: (socket.authorizationError as unknown) == null ? null : String(socket.authorizationError),
      deviceId: deviceIdFromCertificate(peer) ?? null,
      accountId: accountIdFromCertificate(peer) ?? null,
      serial: hasCert ? serialOf(peer) : null,
    };
    socket.end(JSON.stringify(report));
  });
  server.on("tlsClientError", () => {});
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Connects, checks the server (rejectUnauthorized), and returns the server's report. */
async function connect(options: tls.ConnectionOptions): Promise<{ authorized: boolean; report: ServerReport }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    sockets.add(socket);
    let data = "";
    let authorized = false;
    socket.setEncoding("utf8");
    socket.on("secureConnect", () => (authorized = socket.authorized));
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("end", () => {
      socket.end();
      try {
        resolve({ authorized, report: JSON.parse(data) as ServerReport });
      } catch (err) {
        reject(err);
      }
    });
    socket.on("error", reject);
    socket.on("close", () => sockets.delete(socket));
  });
}

async function deviceCertificate(ca: Ca, now = wholeSecondNow()) {
  const { privateKeyPem } = await generateKeyPairPem();
  const csrPem = await createCsrPem(privateKeyPem, { commonName: "requested-by-agent" });
  const issued = await signDeviceCsr(ca, { csrPem, deviceId: DEVICE_ID, accountId: ACCOUNT_ID, deviceName: "Press 4, hall B", now });
  return { ...issued, keyPem: privateKeyPem };
}

describe("CA files", () => {
  test("the CA is created once and reloaded identically on the next start", async () => {
    const dir = join(root, "once", "data");
    const now = wholeSecondNow();
    const first = await loadOrCreateCa(dir, { now });
    const second = await loadOrCreateCa(dir, { now: new Date(now.getTime() + 60_000) });
    assert.equal(second.certPem, first.certPem);
    assert.equal(second.keyPem, first.keyPem);
    assert.equal(second.keyId, first.keyId);

    const cert = new X509Certificate(first.certPem);
    assert.equal(cert.ca, true);
    assert.match(cert.subject, /^CN=Fernlink CA [0-9a-f]{8}$/);
    assert.equal(cert.issuer, cert.subject);
    assert.ok(cert.verify(cert.publicKey), "self-signed");
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const parsed = new x509.X509Certificate(first.certPem);
    const years = (parsed.notAfter.getTime() - now.getTime()) / (365.25 * 24 * 3600 * 1000);
    assert.ok(years > 9.9 && years < 10.1, `validity ${years} years`);
    const basic = parsed.getExtension(x509.BasicConstraintsExtension);
    assert.equal(basic?.ca, true);
    assert.equal(basic?.critical, true);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    assert.equal(usage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(usage?.critical, true);
    assert.equal(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, first.keyId);
  });

  test("the key is mode 0600, the certificate 0644, a new data directory 0700, and no temp files remain", async () => {
    const dir = join(root, "modes", "data");
    await loadOrCreateCa(dir, { now: new Date() });
    assert.equal((await stat(join(dir, CA_KEY_FILE))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, CA_CERT_FILE))).mode & 0o777, 0o644);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.deepEqual((await readdir(dir)).sort(), [CA_KEY_FILE, CA_CERT_FILE].sort());
  });

  test("a CA with only one of its two files is refused, naming the missing file, and left as it was", async () => {
    const source = join(root, "half-source");
    await loadOrCreateCa(source, { now: new Date() });
    for (const [present, missing] of [
      [CA_CERT_FILE, CA_KEY_FILE],
      [CA_KEY_FILE, CA_CERT_FILE],
    ] as const) {
      const dir = join(root, `half-${present}`);
      await mkdir(dir, { mode: 0o700 });
      await copyFile(join(source, present), join(dir, present));
      const err = await rejectsWithCode(loadOrCreateCa(dir, { now: new Date() }), "internal");
      assert.ok(err.message.includes(join(dir, missing)), "the message names the missing file");
      assert.ok(!err.message.includes("\n"), "one line");
      assert.deepEqual(await readdir(dir), [present]);
    }
  });

  test("a CA whose key belongs to another certificate is refused", async () => {
    const a = join(root, "mix-a");
    const b = join(root, "mix-b");
    await loadOrCreateCa(a, { now: new Date() });
    await loadOrCreateCa(b, { now: new Date() });
    await copyFile(join(b, CA_KEY_FILE), join(a, CA_KEY_FILE));
    await rejectsWithCode(loadOrCreateCa(a, { now: new Date() }), "internal");
  });
});

describe("certificates over real TLS", () => {
  let ca: Ca;
  let otherCa: Ca;
  let server: { certPem: string; keyPem: string };

  before(async () => {
    ca = await loadOrCreateCa(join(root, "tls-ca"), { now: new Date() });
    otherCa = await loadOrCreateCa(join(root, "tls-other-ca"), { now: new Date() });
    server = await issueServerCertificate(ca, { hostnames: ["localhost", "127.0.0.1", "::1"], now: new Date() });
  });

  test("the server certificate verifies against the CA for localhost, 127.0.0.1 and ::1", async () => {
    const v4 = await startServer({ key: server.keyPem, cert: server.certPem }, "127.0.0.1");
    const v6 = await startServer({ key: server.keyPem, cert: server.certPem }, "::1");
    const byName = await connect({ host: "127.0.0.1", port: v4, servername: "localhost", ca: [ca.certPem] });
    assert.equal(byName.authorized, true);
    // An IP address is checked against the SAN from `host`; Node refuses it as an SNI servername.
    const byV4 = await connect({ host: "127.0.0.1", port: v4, ca: [ca.certPem] });
    assert.equal(byV4.authorized, true);
    const byV6 = await connect({ host: "::1", port: v6, ca: [ca.certPem] });
    assert.equal(byV6.authorized, true);
    assert.equal(byV6.report.deviceId, null, "no client certificate was sent");
  });

  test("the server certificate is refused for a name it does not carry or by a client trusting another CA", async () => {
    const port = await startServer({ key: server.keyPem, cert: server.certPem }, "127.0.0.1");
    await assert.rejects(connect({ host: "127.0.0.1", port, servername: "elsewhere.example", ca: [ca.certPem] }), {
      code: "ERR_TLS_CERT_ALTNAME_INVALID",
    });
    await assert.rejects(connect({ host: "127.0.0.1", port, servername: "localhost", ca: [otherCa.certPem] }), {
      code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    });
  });

  test("a device certificate from a CSR authenticates as a TLS client and the server reads its id and serial", async () => {
    const device = await deviceCertificate(ca);
    assert.match(device.serial, /^[0-9a-f]{32}$/);
    assert.equal(certificateInfo(device.certPem).serial, device.serial);
    const port = await startServer({ key: server.keyPem, cert: server.certPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: false }, "127.0.0.1");
    const { authorized, report } = await connect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ca: [ca.certPem],
      key: device.keyPem,
      cert: device.certPem,
    });
    assert.equal(authorized, true);
    assert.deepEqual(report, { authorized: true, authorizationError: null, deviceId: DEVICE_ID, accountId: ACCOUNT_ID, serial: device.serial });
  });

  test("a device certificate signed by another CA is not authorized", async () => {
    const stranger = await deviceCertificate(otherCa);
    const port = await startServer({ key: server.keyPem, cert: server.certPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: false }, "127.0.0.1");
    const { report } = await connect({ host: "127.0.0.1", port, servername: "localhost", ca: [ca.certPem], key: stranger.keyPem, cert: stranger.certPem });
    assert.equal(report.authorized, false);
    assert.notEqual(report.authorizationError, null);
    // The id is still readable: deviceIdFromCertificate says nothing about trust.
    assert.equal(report.deviceId, DEVICE_ID);
  });

  test("a device certificate cannot serve as a TLS server certificate", async () => {
    const device = await deviceCertificate(ca);
    const port = await startServer({ key: device.keyPem, cert: device.certPem }, "127.0.0.1");
    await assert.rejects(connect({ host: "127.0.0.1", port, servername: DEVICE_ID, ca: [ca.certPem] }), {
      code: "INVALID_PURPOSE",
    });
  });
});

describe("device certificate contents", () => {
  let ca: Ca;
  before(async () => {
    ca = await loadOrCreateCa(join(root, "contents-ca"), { now: new Date() });
  });

  test("the CSR's subject is ignored: the CN and SAN carry the device id and the account, clientAuth only", async () => {
    const now = wholeSecondNow();
    const { privateKeyPem } = await generateKeyPairPem();
    const csrPem = await createCsrPem(privateKeyPem, { commonName: "some-other-device" });
    const issued = await signDeviceCsr(ca, { csrPem, deviceId: DEVICE_ID, accountId: ACCOUNT_ID, deviceName: "Press 4", now, validityDays: 30 });
    const cert = new x509.X509Certificate(issued.certPem);
    assert.deepEqual(cert.subjectName.getField("CN"), [DEVICE_ID]);
    assert.equal(cert.issuer, ca.subject);
    assert.equal(cert.notBefore.getTime(), now.getTime() - 5 * 60 * 1000);
    assert.equal(cert.notAfter.getTime(), now.getTime() + 30 * 24 * 3600 * 1000);
    assert.equal(issued.notAfter.getTime(), cert.notAfter.getTime());
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(san?.names.toJSON(), [
      { type: "url", value: `urn:fernlink:device:${DEVICE_ID}` },
      { type: "url", value: `urn:fernlink:account:${ACCOUNT_ID}` },
    ]);
    assert.deepEqual([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.clientAuth]);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    const spki = createPublicKey(privateKeyPem).export({ type: "spki", format: "der" });
    assert.ok(spki.equals(Buffer.from(cert.publicKey.rawData)), "the certificate is for the CSR's key");
    assert.ok(new X509Certificate(issued.certPem).verify(new X509Certificate(ca.certPem).publicKey), "signed by the CA");
  });

  test("a CSR with a tampered byte, a tampered signature or no PEM at all is rejected as invalid input", async () => {
    const { privateKeyPem } = await generateKeyPairPem();
    const csrPem = await createCsrPem(privateKeyPem, { commonName: "tamper-me" });
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
    const inSubject = Buffer.from(der);
    const at = inSubject.indexOf("tamper-me");
    assert.ok(at > 0);
    inSubject[at] = 0x54; // "t" -> "T"
    const inSignature = Buffer.from(der);
    inSignature[inSignature.length - 1] = (inSignature[inSignature.length - 1] ?? 0) ^ 0x01;
    const options = { deviceId: DEVICE_ID, accountId: ACCOUNT_ID, deviceName: "x", now: new Date() };
    for (const bad of [inSubject, inSignature]) {
      const pem = x509.PemConverter.encode(bad, "CERTIFICATE REQUEST");
      await rejectsWithCode(signDeviceCsr(ca, { ...options, csrPem: pem }), "invalid-input");
    }
    await rejectsWithCode(
      signDeviceCsr(ca, { ...options, csrPem: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n" }),
      "invalid-input",
    );
    await rejectsWithCode(signDeviceCsr(ca, { ...options, csrPem: "hello" }), "invalid-input");
  });

  test("a CSR for a P-384 or 1024-bit RSA key is rejected, one for a 2048-bit RSA key is signed", async () => {
    const csrFor = async (algorithm: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams, signing: webcrypto.EcdsaParams | webcrypto.Algorithm) => {
      const keys = (await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: [{ CN: ["k"] }], keys, signingAlgorithm: signing });
      return csr.toString("pem");
    };
    const rsa = (bits: number): webcrypto.RsaHashedKeyGenParams => ({
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    });
    const options = { deviceId: DEVICE_ID, accountId: ACCOUNT_ID, deviceName: "x", now: new Date() };
    const p384 = await csrFor({ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" } as webcrypto.EcdsaParams);
    await rejectsWithCode(signDeviceCsr(ca, { ...options, csrPem: p384 }), "invalid-input");
    const rsa1024 = await csrFor(rsa(1024), { name: "RSASSA-PKCS1-v1_5" });
    await rejectsWithCode(signDeviceCsr(ca, { ...options, csrPem: rsa1024 }), "invalid-input");
    const rsa2048 = await csrFor(rsa(2048), { name: "RSASSA-PKCS1-v1_5" });
    const issued = await signDeviceCsr(ca, { ...options, csrPem: rsa2048 });
    assert.equal(new X509Certificate(issued.certPem).publicKey.asymmetricKeyType, "rsa");
  });

  test("malformed device ids, account ids, names, validity and hostnames are rejected as invalid input", async () => {
    const { privateKeyPem } = await generateKeyPairPem();
    const csrPem = await createCsrPem(privateKeyPem, { commonName: "x" });
    const good = { csrPem, deviceId: DEVICE_ID, accountId: ACCOUNT_ID, deviceName: "x", now: new Date() };
    for (const bad of [
      { deviceId: "" },
      { deviceId: "a/b" },
      { deviceId: "a b" },
      { accountId: "x:y" },
      { deviceName: "" },
      { deviceName: "line\nbreak" },
      { validityDays: 0 },
      { validityDays: 1.5 },
    ]) {
      await rejectsWithCode(signDeviceCsr(ca, { ...good, ...bad }), "invalid-input");
    }
    for (const hostnames of [[], ["bad host"], ["fe80::1%eth0"], ["-leading.example"], ["a..b"]]) {
      await rejectsWithCode(issueServerCertificate(ca, { hostnames, now: new Date() }), "invalid-input");
    }
  });

  test("server certificate names are normalised: lowercase DNS, canonical IPv6, duplicates dropped", async () => {
    const issued = await issueServerCertificate(ca, {
      hostnames: ["Fernlink.Example.", "fernlink.example", "10.0.0.1", "[::FFFF:10.0.0.2]", "2001:DB8::1"],
      now: new Date(),
    });
    const cert = new x509.X509Certificate(issued.certPem);
    assert.deepEqual(cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(), [
      { type: "dns", value: "fernlink.example" },
      { type: "ip", value: "10.0.0.1" },
      { type: "ip", value: "::ffff:a00:2" },
      { type: "ip", value: "2001:db8::1" },
    ]);
    assert.deepEqual([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth]);
    const days = (cert.notAfter.getTime() - Date.now()) / (24 * 3600 * 1000);
    assert.ok(days > 824 && days < 826, `validity ${days} days`);
  });
});
