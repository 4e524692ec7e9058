import { createHash, randomBytes } from "node:crypto";

/** A random secret of `bytes` bytes, base64url (session tokens: 32 bytes = 256 bit). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/** The stored form of a high-entropy secret: SHA-256, hex. A KDF is not needed at 128+ bits. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}
