import { timingSafeEqual } from "node:crypto";
import { HOTP, Secret, TOTP } from "otpauth";

/** RFC 6238 parameters every authenticator app supports: SHA-1, 6 digits, 30 s steps, ±1 step of clock drift. */
export const TOTP_SETTINGS = { algorithm: "SHA1", digits: 6, periodSeconds: 30, window: 1, issuer: "Fernlink" } as const;

/** A fresh 160-bit secret, base32 (RFC 4226 recommends 160 bits for SHA-1). */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The time step `now` falls in. */
export function totpStep(now: Date): number {
  return TOTP.counter({ period: TOTP_SETTINGS.periodSeconds, timestamp: now.getTime() });
}

/** The code of one time step (`digits` other than 6 only for the RFC test vectors). */
export function totpCode(secretBase32: string, step: number, digits: number = TOTP_SETTINGS.digits): string {
  return HOTP.generate({ secret: Secret.fromBase32(secretBase32), algorithm: TOTP_SETTINGS.algorithm, digits, counter: step });
}

/** The otpauth:// URI an authenticator app reads (as a QR code or pasted). */
export function totpUri(secretBase32: string, label: string): string {
  return new TOTP({
    issuer: TOTP_SETTINGS.issuer,
    label,
    algorithm: TOTP_SETTINGS.algorithm,
    digits: TOTP_SETTINGS.digits,
    period: TOTP_SETTINGS.periodSeconds,
    secret: Secret.fromBase32(secretBase32),
  }).toString();
}

/** The verdict on a code: the step it belongs to, or why it was refused. */
export type TotpCheck = { ok: true; step: number } | { ok: false; reason: "wrong" | "replayed" };

function same(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * Checks `code` against the steps around `now`. A code of a step at or before `lastStep` (the
 * last one accepted) is a replay: each code is good once, and never after a later one.
 */
export function checkTotp(secretBase32: string, code: string, now: Date, lastStep: number | null): TotpCheck {
  const current = totpStep(now);
  let replayed = false;
  for (let step = current - TOTP_SETTINGS.window; step <= current + TOTP_SETTINGS.window; step++) {
    if (!same(totpCode(secretBase32, step), code)) continue;
    if (lastStep !== null && step <= lastStep) replayed = true;
    else return { ok: true, step };
  }
  return { ok: false, reason: replayed ? "replayed" : "wrong" };
}
