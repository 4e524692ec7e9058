/**
 * Key, CSR and certificate helpers shared by every role (the agent must not import src/access).
 * Keys are ECDSA P-256, private keys PKCS#8 PEM; serials are lowercase hex without colons or
 * leading zeros (see `serialOf`), the same form the access service stores at issue time.
 */

import type { KeyObject } from "node:crypto";
import { createPrivateKey, createPublicKey, generateKeyPair, type X509Certificate as NodeX509Certificate, webcrypto } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { promisify } from "node:util";
import { FernlinkError } from "../protocol/errors.js";
import { x509 } from "./x509.js";

/** SAN URI prefix binding a certificate to a device id. */
export const DEVICE_URN_PREFIX = "urn:fernlink:device:";
/** SAN URI prefix binding a certificate to an account id. */
export const ACCOUNT_URN_PREFIX = "urn:fernlink:account:";
/** SAN URI prefix of a relay certificate (`fernlink relay run`). */
export const RELAY_URN_PREFIX = "urn:fernlink:relay:";
/** SAN URI prefix of an access node's certificate, with which it opens streams on relays. */
export const NODE_URN_PREFIX = "urn:fernlink:node:";

export interface KeyPairPem {
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  privateKeyPem: string;
  /** SPKI PEM ("BEGIN PUBLIC KEY"). */
  publicKeyPem: string;
}

export interface CertificateInfo {
  /** Lowercase hex, no colons, no leading zeros (as `serialOf`). */
  serial: string;
  /** The subject's common name, "" when it has none. */
  subjectCN: string;
  /** From the `urn:fernlink:device:` SAN URI, falling back to the CN (see `deviceIdFromCertificate`). */
  deviceId?: string;
  notAfter: Date;
}

/** Anything with a DER encoding: `tls.PeerCertificate`, node's `X509Certificate`. */
export type CertificateLike = PeerCertificate | NodeX509Certificate;

const generateKeyPairAsync = promisify(generateKeyPair);

/** A fresh ECDSA P-256 key pair as PEM (private key PKCS#8, public key SPKI). */
export async function generateKeyPairPem(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync("ec", {
    namedCurve: "P-256",
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * Imports a PKCS#8 PEM ECDSA P-256 private key as a WebCrypto key pair for signing
 * (the public half is derived from the private key). Throws "invalid-input" for other keys.
 */
export async function importEcKeyPair(privateKeyPem: string): Promise<webcrypto.CryptoKeyPair> {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKeyPem, format: "pem" });
  } catch (err) {
    throw new FernlinkError("invalid-input", "private key is not a readable PEM key", { cause: err });
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new FernlinkError("invalid-input", "private key must be ECDSA P-256");
  }
  const algorithm = { name: "ECDSA", namedCurve: "P-256" };
  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey("pkcs8", pkcs8, algorithm, false, ["sign"]),
    webcrypto.subtle.importKey("spki", spki, algorithm, true, ["verify"]),
  ]);
  return { privateKey, publicKey } as webcrypto.CryptoKeyPair;
}

/** A PKCS#10 CSR (PEM) for the key, signed with ECDSA/SHA-256. The CA ignores the subject. */
export async function createCsrPem(privateKeyPem: string, options: { commonName: string }): Promise<string> {
  if (typeof options.commonName !== "string" || options.commonName.length === 0 || options.commonName.length > 64) {
    throw new FernlinkError("invalid-input", "CSR common name must be 1 to 64 characters");
  }
  const keys = await importEcKeyPair(privateKeyPem);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    // The JSON form, not an RFC 2253 string: a name with "," or "=" cannot inject attributes.
    name: [{ CN: [options.commonName] }],
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams,
  });
  return csr.toString("pem");
}

/**
 * Canonical serial: lowercase hex without colons, whitespace or leading zeros ("0" for zero).
 * Accepts a hex string or anything with `serialNumber` (node gives uppercase hex, whole bytes,
 * so possibly one leading zero; other tools print colons). Throws "invalid-input" for non-hex.
 */
export function serialOf(serial: string | { readonly serialNumber: string }): string {
  const raw = typeof serial === "string" ? serial : serial.serialNumber;
  const hex = String(raw).replace(/[:\s]/g, "").toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) {
    throw new FernlinkError("invalid-input", "certificate serial is not hexadecimal");
  }
  return hex.replace(/^0+/, "") || "0";
}

function parse(cert: CertificateLike): x509.X509Certificate | undefined {
  // getPeerCertificate() returns {} when the peer sent no certificate.
  const raw = (cert as { raw?: unknown }).raw;
  if (!(raw instanceof Uint8Array) || raw.length === 0) return undefined;
  try {
    return new x509.X509Certificate(raw);
  } catch {
    return undefined;
  }
}

/**
 * The SAN URIs with `prefix` as Node already printed them for a TLS peer (`subjectaltname`,
 * "URI:a, DNS:b"), without parsing the DER again in JavaScript: that parse was the largest
 * cost of an agent's connection. Node quotes an entry holding a comma, quote or other special
 * character as a JSON string; such a certificate (never one we issue) takes the full parse,
 * as does one without the field (`undefined`).
 */
function printedSanUris(cert: CertificateLike, prefix: string): string[] | undefined {
  const printed = (cert as Partial<PeerCertificate>).subjectaltname;
  if (typeof printed !== "string" || printed.includes('"')) return undefined;
  const tag = `URI:${prefix}`;
  return printed
    .split(", ")
    .filter((entry) => entry.startsWith(tag))
    .map((entry) => entry.slice(tag.length));
}

function sanUris(cert: x509.X509Certificate, prefix: string): string[] {
  const uris: string[] = [];
  for (const ext of cert.getExtensions(x509.SubjectAlternativeNameExtension)) {
    for (const name of ext.names.items) {
      if (name.type === "url" && name.value.startsWith(prefix)) uris.push(name.value.slice(prefix.length));
    }
  }
  return uris;
}

function commonName(cert: x509.X509Certificate): string | undefined {
  const cns = cert.subjectName.getField("CN");
  return cns.length === 1 ? cns[0] : undefined;
}

function deviceIdOf(cert: x509.X509Certificate): string | undefined {
  const ids = sanUris(cert, DEVICE_URN_PREFIX);
  if (ids.length > 0) return ids.length === 1 && ids[0] !== "" ? ids[0] : undefined; // several: ambiguous
  return commonName(cert) || undefined;
}

/**
 * The device id a certificate is bound to: its single `urn:fernlink:device:<id>` SAN URI, else
 * its single CN; undefined when there is none, several, or no certificate (`{}` from
 * `getPeerCertificate()`). It says nothing about trust: check `socket.authorized` first.
 */
export function deviceIdFromCertificate(cert: CertificateLike): string | undefined {
  const printed = printedSanUris(cert, DEVICE_URN_PREFIX);
  if (printed !== undefined && printed.length > 0) return printed.length === 1 && printed[0] !== "" ? printed[0] : undefined;
  const parsed = parse(cert);
  return parsed === undefined ? undefined : deviceIdOf(parsed);
}

/** The id from the single SAN URI with `prefix` (e.g. ACCOUNT_URN_PREFIX), if any (no CN fallback). */
export function urnIdFromCertificate(cert: CertificateLike, prefix: string): string | undefined {
  let ids = printedSanUris(cert, prefix);
  if (ids === undefined) {
    const parsed = parse(cert);
    if (parsed === undefined) return undefined;
    ids = sanUris(parsed, prefix);
  }
  return ids.length === 1 && ids[0] !== "" ? ids[0] : undefined;
}

/** The account id from the single `urn:fernlink:account:<id>` SAN URI, if any (no CN fallback). */
export function accountIdFromCertificate(cert: CertificateLike): string | undefined {
  return urnIdFromCertificate(cert, ACCOUNT_URN_PREFIX);
}

/** Serial, subject CN, device id and expiry of a PEM certificate. Throws "invalid-input" if unreadable. */
export function certificateInfo(certPem: string): CertificateInfo {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (err) {
    throw new FernlinkError("invalid-input", "not a readable PEM certificate", { cause: err });
  }
  const info: CertificateInfo = {
    serial: serialOf(cert.serialNumber),
    subjectCN: commonName(cert) ?? "",
    notAfter: cert.notAfter,
  };
  const deviceId = deviceIdOf(cert);
  if (deviceId !== undefined) info.deviceId = deviceId;
  return info;
}
