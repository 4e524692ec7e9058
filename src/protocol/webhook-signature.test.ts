import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { signWebhookBody, verifyWebhookSignature } from "./webhook-signature.js";

test("a webhook body is signed sha256= and the hex HMAC-SHA256 under the secret, as a receiver computes it", () => {
  const body = '{"event":"device.offline","device":"press-7"}';
  const expected = createHmac("sha256", "s3cret").update(body).digest("hex");
  assert.equal(signWebhookBody("s3cret", body), `sha256=${expected}`);
  assert.equal(signWebhookBody("s3cret", Buffer.from(body)), `sha256=${expected}`);
  // A known vector, so the scheme cannot drift unnoticed.
  assert.equal(
    signWebhookBody("key", "The quick brown fox jumps over the lazy dog"),
    "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
  );
});

test("a signature verifies only for the same body and secret", () => {
  const header = signWebhookBody("s3cret", "{}");
  assert.equal(verifyWebhookSignature("s3cret", "{}", header), true);
  assert.equal(verifyWebhookSignature("s3cret", "{ }", header), false);
  assert.equal(verifyWebhookSignature("other", "{}", header), false);
  assert.equal(verifyWebhookSignature("s3cret", "{}", undefined), false);
  assert.equal(verifyWebhookSignature("s3cret", "{}", "sha256=00"), false);
});
