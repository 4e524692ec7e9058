import assert from "node:assert/strict";
import type { webcrypto } from "node:crypto";
import { once } from "node:events";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import tls from "node:tls";
import { FernlinkError } from "../protocol/errors.js";
import { generateKeyPairPem, importEcKeyPair } from "../shared/pki.js";
import { x509 } from "../shared/x509.js";
import { openTunnel } from "./tunnel-connection.js";

/** A self-signed key and certificate: the refusals below happen before anyone checks it. */
async function selfSigned(): Promise<{ keyPem: string; certPem: string }> {
  const { privateKeyPem } = await generateKeyPairPem();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: ["relay"] }],
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys: await importEcKeyPair(privateKeyPem),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams,
  });
  return { keyPem: privateKeyPem, certPem: cert.toString("pem") };
}

describe("openTunnel", () => {
  it("says the relay is busy when it refuses the handshake at the ClientHello, not OpenSSL's alert code", async () => {
    const { keyPem, certPem } = await selfSigned();
    // What a relay does while too many agents' handshakes are under way (handshake-admission.ts).
    const relay = tls.createServer({ key: keyPem, cert: certPem, ALPNCallback: () => undefined });
    relay.listen(0, "127.0.0.1");
    await once(relay, "listening");
    const streamServer = http2.createServer();
    try {
      const opening = openTunnel({ host: "127.0.0.1", port: (relay.address() as AddressInfo).port, keyPem, certPem, caPem: certPem, streamServer });
      await assert.rejects(opening, (err: unknown) => {
        assert.ok(err instanceof FernlinkError);
        assert.equal(err.code, "server-unreachable");
        assert.match(err.message, /^127\.0\.0\.1:\d+ refused the tunnel at the TLS handshake: busy setting up other devices' tunnels/);
        return true;
      });
    } finally {
      relay.close();
      streamServer.close();
    }
  });
});
