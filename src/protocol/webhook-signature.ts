import { createHmac, timingSafeEqual } from "node:crypto";

/** The header a webhook's body is signed in: `sha256=` and the hex HMAC-SHA256 of the raw body under the channel's secret. */
export const SIGNATURE_HEADER = "x-fernlink-signature";

/** The header value for `body` (the exact bytes sent) under `secret`. */
export function signWebhookBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** True when `header` is the signature of `body` under `secret`; compared in constant time. */
export function verifyWebhookSignature(secret: string, body: string | Uint8Array, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
