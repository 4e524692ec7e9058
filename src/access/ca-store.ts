/**
 * The CA's files: `ca.pem` (certificate, 0644) and `ca-key.pem` (PKCS#8 key, 0600) in the data
 * directory, created once, atomically, and checked on every load. Re-exported by `./ca.ts`.
 */

import type { KeyObject } from "node:crypto";
import { createPrivateKey, createPublicKey, randomBytes, type webcrypto } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FernlinkError } from "../protocol/errors.js";
import { pathExists } from "../shared/files.js";
import { generateKeyPairPem, importEcKeyPair } from "../shared/pki.js";
import { x509 } from "../shared/x509.js";

export const CA_CERT_FILE = "ca.pem";
export const CA_KEY_FILE = "ca-key.pem";

export const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3652;
/** notBefore is backdated this much so peers whose clocks run a little behind accept new certs. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The loaded CA. Treat as opaque beyond `certPem` (give it to peers) and `keyPem` (never log it). */
export interface Ca {
  readonly certPem: string;
  readonly keyPem: string;
  /** e.g. "CN=Fernlink CA 3f9a12c0". */
  readonly subject: string;
  readonly notAfter: Date;
  /** Subject key identifier, lowercase hex. */
  readonly keyId: string;
  readonly certificate: x509.X509Certificate;
  readonly signingKey: webcrypto.CryptoKey;
}

/**
 * Loads the CA from `dataDir`, creating it (and `dataDir`, mode 0700) on first start. Refuses,
 * with a message naming the missing file, when only one of `ca.pem` / `ca-key.pem` exists.
 */
export async function loadOrCreateCa(dataDir: string, options: { now: Date }): Promise<Ca> {
  const certPath = join(dataDir, CA_CERT_FILE);
  const keyPath = join(dataDir, CA_KEY_FILE);
  if ((await mkdir(dataDir, { recursive: true, mode: 0o700 })) !== undefined) {
    await chmod(dataDir, 0o700); // mkdir's mode is masked by the umask
  }
  const [haveCert, haveKey] = await Promise.all([pathExists(certPath), pathExists(keyPath)]);
  if (haveCert && !haveKey) {
    throw new FernlinkError(
      "internal",
      `CA private key ${keyPath} is missing but ${certPath} exists: restore ${CA_KEY_FILE} from a backup, ` +
        `or move ${CA_CERT_FILE} away to create a new CA (every device must then register again)`,
    );
  }
  if (haveKey && !haveCert) {
    throw new FernlinkError(
      "internal",
      `CA certificate ${certPath} is missing but ${keyPath} exists: restore ${CA_CERT_FILE} from a backup, or, ` +
        `if this CA never issued certificates (an interrupted first start), delete ${CA_KEY_FILE} and start again`,
    );
  }
  if (!haveCert) await createCa(certPath, keyPath, options.now);
  return loadCa(certPath, keyPath, options.now);
}

/** Makes a new CA (ECDSA P-256, self-signed, 10 years) in memory: its certificate and PKCS#8 key as PEM. */
export async function generateCaPem(now: Date): Promise<{ certPem: string; keyPem: string }> {
  const { privateKeyPem } = await generateKeyPairPem();
  const keys = await importEcKeyPair(privateKeyPem);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [`Fernlink CA ${randomBytes(4).toString("hex")}`] }],
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: pemWithNewline(cert.toString("pem")), keyPem: privateKeyPem };
}

async function createCa(certPath: string, keyPath: string, now: Date): Promise<void> {
  const { certPem, keyPem } = await generateCaPem(now);
  // Both files are complete on disk before either gets its real name; the certificate is renamed
  // last, so a crash in between leaves only the key, which the next start reports.
  const keyTmp = await writeTemp(keyPath, keyPem, 0o600);
  const certTmp = await writeTemp(certPath, certPem, 0o644);
  await rename(keyTmp, keyPath);
  await rename(certTmp, certPath);
  await syncDir(dirname(certPath));
}

async function writeTemp(path: string, data: string, mode: number): Promise<string> {
  const tmp = `${path}.tmp`;
  await rm(tmp, { force: true }); // a leftover from an interrupted start
  const file = await open(tmp, "wx", mode);
  try {
    await file.chmod(mode); // exact mode, whatever the umask
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  return tmp;
}

async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not every platform can fsync a directory; the renames are still atomic.
  }
}

function caError(message: string, cause?: unknown): FernlinkError {
  return new FernlinkError("internal", message, cause === undefined ? undefined : { cause });
}

async function loadCa(certPath: string, keyPath: string, now: Date): Promise<Ca> {
  const [certPem, keyPem] = await Promise.all([readFile(certPath, "utf8"), readFile(keyPath, "utf8")]);
  return caFromPem(certPem, keyPem, { now, certName: certPath, keyName: keyPath });
}

/**
 * Checks a CA certificate and key given as PEM and makes the CA of them; `certName` and
 * `keyName` say where they came from, for the messages.
 */
export async function caFromPem(certPem: string, keyPem: string, where: { now: Date; certName: string; keyName: string }): Promise<Ca> {
  const { now, certName: certPath, keyName: keyPath } = where;
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(certPem);
  } catch (err) {
    throw caError(`CA certificate ${certPath} is not a readable PEM certificate`, err);
  }
  if (certificate.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
    throw caError(`${certPath} is not a CA certificate (basicConstraints CA:true missing)`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: keyPem, format: "pem" });
  } catch (err) {
    throw caError(`CA private key ${keyPath} is not a readable PEM key`, err);
  }
  const keySpki = createPublicKey(key).export({ type: "spki", format: "der" });
  if (!keySpki.equals(Buffer.from(certificate.publicKey.rawData))) {
    throw caError(`CA private key ${keyPath} does not belong to the certificate ${certPath}`);
  }
  if (now.getTime() > certificate.notAfter.getTime()) {
    throw caError(
      `CA certificate ${certPath} expired on ${certificate.notAfter.toISOString()}: move ${CA_CERT_FILE} and ${CA_KEY_FILE} away to create a new CA ` +
        `(every device must then register again)`,
    );
  }
  let signingKey: webcrypto.CryptoKey;
  try {
    signingKey = (await importEcKeyPair(keyPem)).privateKey;
  } catch (err) {
    throw caError(`CA private key ${keyPath} must be ECDSA P-256`, err);
  }
  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const keyId = ski?.keyId ?? Buffer.from(await certificate.publicKey.getKeyIdentifier()).toString("hex");
  return { certPem, keyPem, subject: certificate.subject, notAfter: certificate.notAfter, keyId, certificate, signingKey };
}

/**
 * 128 random bits shaped into a positive DER INTEGER that needs no padding byte: the top bit is
 * cleared (positive) and the next one set (no leading zero), leaving 126 random bits and always
 * 32 hex digits, so every tool prints the same string (see `serialOf`).
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

export function pemWithNewline(pem: string): string {
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}
