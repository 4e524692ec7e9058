import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { issueServerCertificate, loadOrCreateCa, signDeviceCsr, type Ca } from "../access/ca.js";
import { ALPN } from "../protocol/alpn.js";
import { createLogger } from "../shared/log.js";
import { createCsrPem, generateKeyPairPem, serialOf } from "../shared/pki.js";
import { createTlsListener } from "./tls-listener.js";

describe("the TLS listener", () => {
  let dir: string;
  let ca: Ca;
  let server: tls.Server;
  let port: number;
  const seen: { alpn: string | false | null; serial: string | undefined; reused: boolean }[] = [];
  let device: { keyPem: string; certPem: string; serial: string };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fernlink-tls-"));
    ca = await loadOrCreateCa(dir, { now: new Date() });
    const serverCert = await issueServerCertificate(ca, { hostnames: ["localhost", "127.0.0.1"], now: new Date() });
    const { privateKeyPem } = await generateKeyPairPem();
    const signed = await signDeviceCsr(ca, { csrPem: await createCsrPem(privateKeyPem, { commonName: "x" }), deviceId: "dev-1", accountId: "acc-1", deviceName: "press-7", now: new Date() });
    device = { keyPem: privateKeyPem, certPem: signed.certPem, serial: signed.serial };
    const record = (socket: tls.TLSSocket): void => {
      const cert = socket.getPeerCertificate();
      seen.push({ alpn: socket.alpnProtocol, serial: cert?.serialNumber ? serialOf(cert) : undefined, reused: socket.isSessionReused() });
      // Answer first: TLS 1.3 sends its session tickets with the server's first write.
      socket.end("bye");
    };
    server = createTlsListener({ keyPem: serverCert.keyPem, certPem: serverCert.certPem, caPem: ca.certPem, log: createLogger("test", { level: "error" }) }, { agent: record, h2: record, http1: record });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  function connect(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ...options });
      let session: Buffer | undefined;
      socket.on("session", (s: Buffer) => (session = s));
      socket.once("error", reject);
      socket.on("data", () => {});
      socket.once("close", () => Object.assign(socket, { lastSession: session }) && resolve(socket));
    });
  }

  it("routes by ALPN: agent, h2 and HTTP/1.1", async () => {
    seen.length = 0;
    await connect({ ALPNProtocols: [ALPN.agent], key: device.keyPem, cert: device.certPem });
    await connect({ ALPNProtocols: [ALPN.h2] });
    await connect({ ALPNProtocols: [ALPN.http1] });
    assert.deepEqual(seen.map((s) => s.alpn), [ALPN.agent, ALPN.h2, ALPN.http1]);
  });

  it("shows the device certificate on a resumed session too, so revocation checks still apply", async () => {
    seen.length = 0;
    const first = (await connect({ ALPNProtocols: [ALPN.agent], key: device.keyPem, cert: device.certPem })) as tls.TLSSocket & { lastSession?: Buffer };
    assert.ok(first.lastSession, "the server issued a session ticket");
    await connect({ ALPNProtocols: [ALPN.agent], key: device.keyPem, cert: device.certPem, session: first.lastSession });
    assert.equal(seen.length, 2);
    assert.equal(seen[1]!.reused, true, "the second handshake resumed the session");
    assert.equal(seen[1]!.serial, device.serial, "the relay still sees which certificate it is");
  });
});
