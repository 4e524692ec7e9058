import assert from "node:assert/strict";
import type { webcrypto } from "node:crypto";
import { once } from "node:events";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { describe, it } from "node:test";
import tls from "node:tls";
import { ALPN } from "../protocol/alpn.js";
import { FernlinkError } from "../protocol/errors.js";
import { generateKeyPairPem, importEcKeyPair } from "../shared/pki.js";
import { x509 } from "../shared/x509.js";
import { openTunnel } from "./tunnel-connection.js";

/** A self-signed key and certificate for 127.0.0.1, the agent's CA in these tests. */
async function selfSigned(): Promise<{ keyPem: string; certPem: string }> {
  const { privateKeyPem } = await generateKeyPairPem();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: ["relay"] }],
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    keys: await importEcKeyPair(privateKeyPem),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as webcrypto.EcdsaParams,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }])],
  });
  return { keyPem: privateKeyPem, certPem: cert.toString("pem") };
}

/** Opens a tunnel to `relay` (listening on loopback for the test) and returns why it failed. */
async function refusalOf(relay: net.Server, { keyPem, certPem }: { keyPem: string; certPem: string }): Promise<FernlinkError> {
  relay.listen(0, "127.0.0.1");
  await once(relay, "listening");
  const streamServer = http2.createServer();
  try {
    await openTunnel({ host: "127.0.0.1", port: (relay.address() as AddressInfo).port, keyPem, certPem, caPem: certPem, streamServer });
  } catch (err) {
    assert.ok(err instanceof FernlinkError, String(err));
    return err;
  } finally {
    relay.close();
    streamServer.close();
  }
  throw new Error("the tunnel opened");
}

describe("openTunnel", () => {
  it("says the relay is busy when it refuses the handshake at the ClientHello, not OpenSSL's alert code", async () => {
    const pem = await selfSigned();
    // What a relay does while too many agents' handshakes are under way (handshake-admission.ts).
    const err = await refusalOf(tls.createServer({ key: pem.keyPem, cert: pem.certPem, ALPNCallback: () => undefined }), pem);
    assert.equal(err.code, "server-unreachable");
    assert.match(err.message, /^127\.0\.0\.1:\d+ refused the tunnel at the TLS handshake: busy setting up other devices' tunnels/);
  });

  /**
   * A relay that refuses the device after TLS (revoked, unknown) destroys the socket. When the
   * agent's HTTP/2 SETTINGS arrived unread by then, the kernel answers with a reset, not a close:
   * either way the agent must learn it was refused, so it asks the access service at once why.
   */
  for (const how of ["closes", "resets"] as const) {
    it(`takes a relay that ${how} the connection after TLS as a refusal of the device`, async () => {
      const pem = await selfSigned();
      const relay = net.createServer((raw) => {
        const secure = new tls.TLSSocket(raw, { isServer: true, key: pem.keyPem, cert: pem.certPem, ALPNProtocols: [ALPN.agent] });
        secure.on("error", () => {});
        secure.once("secure", () => {
          // Stops reading, so the agent's first bytes stay in the kernel's buffer, as on a busy relay.
          raw.pause();
          setTimeout(() => (how === "resets" ? raw.resetAndDestroy() : secure.destroy()), 100);
        });
      });
      const err = await refusalOf(relay, pem);
      assert.equal(err.code, "certificate-rejected", err.message);
    });
  }
});
