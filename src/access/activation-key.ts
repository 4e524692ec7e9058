import { randomBytes } from "node:crypto";
import { hashSecret } from "./secret-token.js";

// Crockford base32: no I, L, O, U, so keys read aloud over the phone survive.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Activation keys expire after this long unless the admin says otherwise. */
export const ACTIVATION_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** A new one-time key: 25 symbols (125 bit) in groups of five, e.g. `7K3QD-…`. */
export function newActivationKey(): string {
  const bytes = randomBytes(25);
  let out = "";
  for (let i = 0; i < 25; i++) {
    out += ALPHABET[bytes[i]! & 31];
    if (i % 5 === 4 && i < 24) out += "-";
  }
  return out;
}

/** Canonical form: upper case, no separators or spaces, ambiguous letters mapped. */
export function normaliseActivationKey(key: string): string {
  return key.toUpperCase().replace(/[\s-]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
}

/** What is stored: the hash of the canonical key, never the key. */
export function hashActivationKey(key: string): string {
  return hashSecret(`fernlink-activation:${normaliseActivationKey(key)}`);
}
