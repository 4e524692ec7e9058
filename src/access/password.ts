import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost: N=2^15, r=8 uses 32 MiB per hash, making offline guessing memory-bound. */
const PARAMS = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 } as const;

/** The N of new hashes, and the lowest N accepted: what this code writes, and 2^14 from before. */
let cost = { write: PARAMS.N, accept: 2 ** 14 };

/**
 * For tests that run the access service in their own process (access-test-kit.ts): new hashes
 * cost N=2^10 instead of 2^15, and such hashes are accepted. Tests log in and create users
 * hundreds of times: the five busiest access test files took 84 s of CPU, 16 s at this cost. Only code
 * inside the process can call it: no flag, variable, file or request reaches it, and the
 * architecture test fails if a module the program ships calls it.
 */
export function lowerPasswordCostForTests(): void {
  cost = { write: 2 ** 10, accept: 2 ** 10 };
}

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function options(N: number, r: number, p: number): ScryptOptions {
  return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
}

/** Hashes a password into a self-describing string: `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, PARAMS.keyLength, options(cost.write, PARAMS.r, PARAMS.p));
  return ["scrypt", cost.write, PARAMS.r, PARAMS.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Checks a password against a stored hash in constant time; false for malformed or foreign hashes. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash, extra] = stored.split("$");
  if (scheme !== "scrypt" || extra !== undefined || salt === undefined || hash === undefined) return false;
  if (![n, r, p].every((v) => v !== undefined && /^\d{1,7}$/.test(v))) return false;
  const [N, R, P] = [Number(n), Number(r), Number(p)];
  // The stored parameters pick the memory used: accept only what this code itself writes.
  if (N < cost.accept || N > 2 ** 20 || (N & (N - 1)) !== 0 || R < 1 || R > 32 || P < 1 || P > 16) return false;
  const expected = Buffer.from(hash, "base64url");
  // A short stored hash is a prefix of the real one and would match too easily.
  if (expected.length !== PARAMS.keyLength) return false;
  try {
    const key = await scryptAsync(password, Buffer.from(salt, "base64url"), expected.length, options(N, R, P));
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/** A valid hash of a random password, verified against when the user does not exist so timing does not tell. */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString("hex"));
  return dummy;
}
