/**
 * Fernlink's own certificate authority: a self-signed ECDSA P-256 root kept in the data directory
 * (see `./ca-store.ts`), which signs the server's TLS certificate at every start and each
 * device's client certificate at registration.
 */

import type { KeyObject } from "node:crypto";
import { createPublicKey, type webcrypto } from "node:crypto";
import { isIP } from "node:net";
import { FernlinkError } from "../protocol/errors.js";
import { ACCOUNT_URN_PREFIX, DEVICE_URN_PREFIX, generateKeyPairPem, importEcKeyPair, NODE_URN_PREFIX, RELAY_URN_PREFIX, serialOf } from "../shared/pki.js";
import { x509 } from "../shared/x509.js";
import type { Ca } from "./ca-store.js";
import { CLOCK_SKEW_MS, DAY_MS, pemWithNewline, randomSerial } from "./ca-store.js";

export type { Ca } from "./ca-store.js";
export { CA_CERT_FILE, CA_KEY_FILE, caFromPem, generateCaPem, loadOrCreateCa } from "./ca-store.js";

const SERVER_VALIDITY_DAYS = 825;
const DEVICE_VALIDITY_DAYS = 397;

export interface IssuedServerCertificate {
  certPem: string;
  /** PKCS#8 PEM of the fresh key. */
  keyPem: string;
}

export interface IssuedDeviceCertificate {
  certPem: string;
  /** As `serialOf` / `certificateInfo` return it. */
  serial: string;
  notAfter: Date;
}

export interface SignDeviceCsrOptions {
  csrPem: string;
  deviceId: string;
  accountId: string;
  deviceName: string;
  now: Date;
  validityDays?: number;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const DNS_LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const DNS_PATTERN = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);
const MAX_CSR_CHARS = 64 * 1024;

/**
 * A TLS server certificate for `hostnames` (DNS names and IPv4/IPv6 addresses), with a fresh key,
 * valid ~825 days (never past the CA). Cheap: issue one at every server start instead of storing it.
 */
export async function issueServerCertificate(ca: Ca, options: { hostnames: readonly string[]; now: Date }): Promise<IssuedServerCertificate> {
  const names = subjectAltNames(options.hostnames);
  const first = names[0];
  if (first === undefined) throw new FernlinkError("invalid-input", "a server certificate needs at least one hostname");
  const { privateKeyPem } = await generateKeyPairPem();
  const keys = await importEcKeyPair(privateKeyPem);
  const cert = await sign(ca, {
    subject: [{ CN: [first.value] }],
    publicKey: keys.publicKey,
    now: options.now,
    validityDays: SERVER_VALIDITY_DAYS,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  return { certPem: pemWithNewline(cert.toString("pem")), keyPem: privateKeyPem };
}

function subjectAltNames(hostnames: readonly string[]): x509.JsonGeneralName[] {
  if (!Array.isArray(hostnames)) throw new FernlinkError("invalid-input", "hostnames must be a list");
  const seen = new Set<string>();
  const names: x509.JsonGeneralName[] = [];
  for (const hostname of hostnames) {
    const name = generalName(hostname);
    const key = `${name.type}:${name.value}`;
    if (!seen.has(key)) {
      seen.add(key);
      names.push(name);
    }
  }
  return names;
}

function generalName(hostname: unknown): x509.JsonGeneralName {
  if (typeof hostname !== "string") throw new FernlinkError("invalid-input", "hostname must be a string");
  const bare = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  const family = isIP(bare);
  if (family === 4) return { type: "ip", value: bare };
  if (family === 6) {
    if (bare.includes("%")) throw new FernlinkError("invalid-input", `IPv6 zone ids cannot go in a certificate: ${hostname}`);
    // The WHATWG URL parser canonicalises (and turns an embedded dotted IPv4 into hex, which the
    // certificate library's IPv6 parser needs).
    return { type: "ip", value: new URL(`http://[${bare}]/`).hostname.slice(1, -1) };
  }
  const dns = hostname.toLowerCase().replace(/\.$/, "");
  if (dns.length === 0 || dns.length > 253 || !DNS_PATTERN.test(dns)) {
    throw new FernlinkError("invalid-input", `not a valid hostname or IP address: ${JSON.stringify(hostname)}`);
  }
  return { type: "dns", value: dns };
}

/**
 * Signs a device's CSR after checking its self-signature and key (EC P-256 or RSA >= 2048).
 * The CSR's subject is ignored: the certificate names the device by `deviceId` (CN and a
 * `urn:fernlink:device:` SAN URI) and its account by a `urn:fernlink:account:` SAN URI.
 */
export async function signDeviceCsr(ca: Ca, options: SignDeviceCsrOptions): Promise<IssuedDeviceCertificate> {
  const { csrPem, deviceId, accountId, deviceName, now } = options;
  const validityDays = options.validityDays ?? DEVICE_VALIDITY_DAYS;
  if (typeof deviceId !== "string" || !ID_PATTERN.test(deviceId)) throw new FernlinkError("invalid-input", "invalid device id");
  if (typeof accountId !== "string" || !ID_PATTERN.test(accountId)) throw new FernlinkError("invalid-input", "invalid account id");
  if (typeof deviceName !== "string" || deviceName.length === 0 || deviceName.length > 256 || /\p{Cc}/u.test(deviceName)) {
    throw new FernlinkError("invalid-input", "device name must be 1 to 256 characters without control characters");
  }
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > 3650) {
    throw new FernlinkError("invalid-input", "validityDays must be an integer from 1 to 3650");
  }
  const csr = await verifiedCsr(csrPem);
  const cert = await sign(ca, {
    // CN alone identifies the device; the name is informational (description, 2.5.4.13).
    subject: [{ CN: [deviceId] }, { "2.5.4.13": [deviceName] }],
    publicKey: csr.publicKey,
    now,
    validityDays,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: "url", value: `${DEVICE_URN_PREFIX}${deviceId}` },
        { type: "url", value: `${ACCOUNT_URN_PREFIX}${accountId}` },
      ]),
    ],
  });
  return { certPem: pemWithNewline(cert.toString("pem")), serial: serialOf(cert.serialNumber), notAfter: cert.notAfter };
}

/**
 * Signs a relay's CSR: one certificate that is the relay's client certificate towards the
 * access nodes (`urn:fernlink:relay:<id>`) and its TLS server certificate for `hostnames`.
 */
export async function signRelayCsr(
  ca: Ca,
  options: { csrPem: string; relayId: string; hostnames: readonly string[]; now: Date },
): Promise<IssuedDeviceCertificate> {
  if (!ID_PATTERN.test(options.relayId)) throw new FernlinkError("invalid-input", "invalid relay id");
  const csr = await verifiedCsr(options.csrPem);
  const cert = await sign(ca, {
    subject: [{ CN: [`relay:${options.relayId}`] }],
    publicKey: csr.publicKey,
    now: options.now,
    validityDays: DEVICE_VALIDITY_DAYS,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `${RELAY_URN_PREFIX}${options.relayId}` }, ...subjectAltNames(options.hostnames)]),
    ],
  });
  return { certPem: pemWithNewline(cert.toString("pem")), serial: serialOf(cert.serialNumber), notAfter: cert.notAfter };
}

/** An access node's client certificate, with a fresh key, issued at every start: it opens users' streams on relays. */
export async function issueNodeCertificate(ca: Ca, options: { nodeId: string; now: Date }): Promise<IssuedServerCertificate> {
  if (!ID_PATTERN.test(options.nodeId)) throw new FernlinkError("invalid-input", "invalid node id");
  const { privateKeyPem } = await generateKeyPairPem();
  const keys = await importEcKeyPair(privateKeyPem);
  const cert = await sign(ca, {
    subject: [{ CN: [`node:${options.nodeId}`] }],
    publicKey: keys.publicKey,
    now: options.now,
    validityDays: SERVER_VALIDITY_DAYS,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `${NODE_URN_PREFIX}${options.nodeId}` }]),
    ],
  });
  return { certPem: pemWithNewline(cert.toString("pem")), keyPem: privateKeyPem };
}

async function verifiedCsr(csrPem: unknown): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof csrPem !== "string" || csrPem.length > MAX_CSR_CHARS) throw new FernlinkError("invalid-input", "CSR must be a PEM string");
  let csr: x509.Pkcs10CertificateRequest;
  let key: KeyObject;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
    key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" });
  } catch (err) {
    throw new FernlinkError("invalid-input", "CSR is not a readable PKCS#10 request", { cause: err });
  }
  const details = key.asymmetricKeyDetails ?? {};
  const keyOk =
    (key.asymmetricKeyType === "ec" && details.namedCurve === "prime256v1") ||
    (key.asymmetricKeyType === "rsa" && (details.modulusLength ?? 0) >= 2048 && (details.modulusLength ?? 0) <= 8192);
  if (!keyOk) throw new FernlinkError("invalid-input", "CSR key must be ECDSA P-256 or RSA of 2048 to 8192 bits");
  const hash = (csr.signatureAlgorithm as { hash?: { name?: string } }).hash?.name;
  let valid = false;
  try {
    valid = hash !== undefined && hash.toUpperCase() !== "SHA-1" && (await csr.verify());
  } catch {
    valid = false;
  }
  if (!valid) throw new FernlinkError("invalid-input", "CSR signature is invalid");
  return csr;
}

interface SignParams {
  subject: x509.JsonNameParams;
  publicKey: x509.PublicKeyType;
  now: Date;
  validityDays: number;
  extensions: x509.Extension[];
}

/** An end-entity certificate signed by the CA: CA:false, SKI, AKI, random serial, skew-tolerant start. */
async function sign(ca: Ca, params: SignParams): Promise<x509.X509Certificate> {
  const notAfter = Math.min(params.now.getTime() + params.validityDays * DAY_MS, ca.notAfter.getTime());
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: new x509.Name(params.subject),
    issuer: ca.certificate.subjectName,
    notBefore: new Date(params.now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(notAfter),
    publicKey: params.publicKey,
    signingKey: ca.signingKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...params.extensions,
      await x509.SubjectKeyIdentifierExtension.create(params.publicKey),
      new x509.AuthorityKeyIdentifierExtension(ca.keyId),
    ],
  });
}
