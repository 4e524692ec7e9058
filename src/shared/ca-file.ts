import { X509Certificate } from "node:crypto";
import { FernlinkError } from "../protocol/errors.js";

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Checks that a file given as a CA holds at least one PEM certificate, and says what it holds
 * instead (a private key, a request, nothing readable): a wrong file otherwise reads as an
 * untrusted server, the same as no CA at all.
 */
export function checkCaPem(text: string, path: string): void {
  const blocks = text.match(CERTIFICATE) ?? [];
  const what = PRIVATE_KEY.test(text) ? "a private key" : (/-----BEGIN ([A-Z ]+)-----/.exec(text)?.[1]?.toLowerCase() ?? "no PEM data");
  if (blocks.length === 0) {
    throw new FernlinkError("invalid-input", `CA file "${path}" is not a PEM certificate (it holds ${what}); pass the server's ca.pem with --ca FILE`);
  }
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new FernlinkError("invalid-input", `CA file "${path}" holds a damaged certificate; copy the server's ca.pem again`, { cause: err });
    }
  }
  if (PRIVATE_KEY.test(text)) {
    throw new FernlinkError("invalid-input", `CA file "${path}" also holds a private key, which must not leave the server; pass only the server's ca.pem`);
  }
}
