import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import WebSocket from "ws";
import { type Ca, issueServerCertificate, loadOrCreateCa, signDeviceCsr } from "../access/ca.js";
import { ALPN } from "../protocol/alpn.js";
import { TRANSPORT_PATH, TRANSPORT_PROTOCOL } from "../protocol/transport.js";
import { createLogger } from "../shared/log.js";
import { createCsrPem, generateKeyPairPem, serialOf } from "../shared/pki.js";
import { dialTls } from "../shared/server-dialer.js";
import { agentHandshake, heldHandshake } from "./handshake-test-kit.js";
import { createRelayListener, type RelayLimits } from "./relay-listener.js";

interface Credentials {
  keyPem: string;
  certPem: string;
}

describe("the relay's TLS port", () => {
  let dir: string;
  let ca: Ca;
  let relayCert: Credentials;
  let device: Credentials & { serial: string };
  /** A certificate of the right shape from a CA that is not ours. */
  let foreign: Credentials;
  /** What the routes were handed, read at once (a closed socket no longer shows its certificate). */
  const routed: { route: "agent" | "peer" | "lane"; authorized: boolean; serial: string; remoteAddress: string | undefined; remotePort: number | undefined }[] =
    [];
  let server: tls.Server;
  let port: number;

  async function deviceCertificate(from: Ca): Promise<Credentials & { serial: string }> {
    const { privateKeyPem } = await generateKeyPairPem();
    const csrPem = await createCsrPem(privateKeyPem, { commonName: "x" });
    const signed = await signDeviceCsr(from, { csrPem, deviceId: "dev-1", accountId: "acc-1", deviceName: "press-7", now: new Date() });
    return { keyPem: privateKeyPem, certPem: signed.certPem, serial: signed.serial };
  }

  async function listen(limits: Partial<RelayLimits> = {}): Promise<{ server: tls.Server; port: number }> {
    const record = (route: "agent" | "peer" | "lane") => (socket: tls.TLSSocket) => {
      const { authorized, remoteAddress, remotePort } = socket;
      const cert = socket.getPeerCertificate();
      routed.push({ route, authorized, serial: cert?.serialNumber ? serialOf(cert) : "none", remoteAddress, remotePort });
      socket.end("bye");
    };
    const s = createRelayListener(
      { keyPem: relayCert.keyPem, certPem: relayCert.certPem, caPem: ca.certPem, log: createLogger("test", { level: "error" }), limits },
      { agent: record("agent"), peer: record("peer"), lane: record("lane") },
    );
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    return { server: s, port: (s.address() as AddressInfo).port };
  }

  /** Resolves with the milliseconds until `socket` closed (read to its end: a paused socket never closes). */
  function closedAfter(socket: net.Socket): Promise<number> {
    const start = Date.now();
    socket.on("error", () => {});
    socket.resume();
    return new Promise((resolve) => socket.once("close", () => resolve(Date.now() - start)));
  }

  /** Resolves when the server's refusal (its alert, or the end) arrives on `socket`, rejects after `ms`. */
  function refusedWithin(socket: tls.TLSSocket, ms: number): Promise<void> {
    socket.resume();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
      const done = (): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      for (const event of ["error", "end", "close"]) socket.once(event, done);
    });
  }

  /** Status line and body of an HTTP/1.1 exchange written raw on a TLS connection without a client certificate. */
  async function rawHttp(request: string, to = port): Promise<string> {
    const socket = tls.connect({ host: "127.0.0.1", port: to, ca: ca.certPem, ALPNProtocols: [ALPN.http1] });
    await once(socket, "secureConnect");
    socket.setEncoding("utf8");
    let answer = "";
    socket.on("data", (d: string) => (answer += d));
    socket.write(request);
    await closedAfter(socket);
    return answer;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fernlink-relay-port-"));
    ca = await loadOrCreateCa(join(dir, "ours"), { now: new Date() });
    relayCert = await issueServerCertificate(ca, { hostnames: ["127.0.0.1"], now: new Date() });
    device = await deviceCertificate(ca);
    foreign = await deviceCertificate(await loadOrCreateCa(join(dir, "theirs"), { now: new Date() }));
    ({ server, port } = await listen());
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const transport of ["tls", "websocket"] as const) {
    it(`routes an agent and an HTTP/2 peer with a certificate from our CA (${transport})`, async () => {
      routed.length = 0;
      for (const alpn of [ALPN.agent, ALPN.h2]) {
        const socket = await dialTls({
          host: "127.0.0.1",
          port,
          ca: ca.certPem,
          cert: device.certPem,
          key: device.keyPem,
          alpn: [alpn],
          transport,
          proxy: null,
        });
        assert.equal(socket.alpnProtocol, alpn);
        socket.resume();
        await once(socket, "end");
        socket.destroy();
      }
      assert.deepEqual(
        routed.map((r) => r.route),
        ["agent", "peer"],
      );
      for (const r of routed) {
        assert.equal(r.authorized, true);
        assert.equal(r.serial, device.serial);
        assert.equal(r.remoteAddress, "127.0.0.1", "the inner session carries the outer connection's address");
        assert.equal(typeof r.remotePort, "number");
      }
    });
  }

  it("closes the agent's and the peers' ALPN without a certificate, or with one from another CA, and routes neither", async () => {
    routed.length = 0;
    for (const alpn of [ALPN.agent, ALPN.h2]) {
      for (const cert of [{}, { cert: foreign.certPem, key: foreign.keyPem }]) {
        const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ALPNProtocols: [alpn], ...cert });
        socket.on("error", () => {});
        let received = 0;
        socket.on("data", (d: Buffer) => (received += d.length));
        const [secure] = await Promise.race([once(socket, "secureConnect").then(() => [true]), once(socket, "close").then(() => [false])]);
        assert.equal(secure, true, `the handshake (${alpn}) finished: the refusal is ours, after it`);
        const ms = await closedAfter(socket);
        assert.ok(ms < 2000, `closed after ${ms} ms`);
        assert.equal(received, 0);
      }
    }
    assert.equal(routed.length, 0);
  });

  it("does not take a resumed session without a certificate (first made for HTTP/1.1) for proof", async () => {
    routed.length = 0;
    const first = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ALPNProtocols: [ALPN.http1] });
    first.on("data", () => {});
    // TLS 1.3 sends its session tickets with the server's first write: the 404.
    first.once("secureConnect", () => first.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
    const [ticket] = (await once(first, "session")) as [Buffer];
    first.destroy();
    for (const alpn of [ALPN.agent, ALPN.h2]) {
      const socket = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ALPNProtocols: [alpn], session: ticket });
      let received = 0;
      socket.on("data", (d: Buffer) => (received += d.length));
      await once(socket, "secureConnect");
      assert.equal(socket.isSessionReused(), true, "the session was resumed");
      await closedAfter(socket);
      assert.equal(received, 0);
    }
    assert.equal(routed.length, 0);
  });

  it("requires a certificate from our CA on the inner session of the WebSocket transport", async () => {
    routed.length = 0;
    for (const cert of [{}, { cert: foreign.certPem, key: foreign.keyPem }]) {
      const socket = await dialTls({ host: "127.0.0.1", port, ca: ca.certPem, alpn: [ALPN.agent], transport: "websocket", proxy: null, ...cert }).catch(
        () => undefined,
      );
      // TLS 1.3: the client may finish its handshake before the server's refusal arrives.
      if (socket) await refusedWithin(socket, 5_000);
    }
    assert.equal(routed.length, 0);
  });

  it("serves HTTP/1.1 nothing but the transport's upgrade, without a certificate: any request and any other upgrade get 404", async () => {
    for (const path of ["/", "/healthz", "/metrics", TRANSPORT_PATH]) {
      const status = await new Promise<number | undefined>((resolve, reject) =>
        https
          .get({ host: "127.0.0.1", port, path, ca: ca.certPem, agent: false }, (res) => res.resume().once("end", () => resolve(res.statusCode)))
          .once("error", reject),
      );
      assert.equal(status, 404, `GET ${path}`);
    }
    const upgrade = (path: string): string =>
      `GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\n` +
      `sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-protocol: ${TRANSPORT_PROTOCOL}\r\n\r\n`;
    assert.match(await rawHttp(upgrade("/api/v1/vnc")), /^HTTP\/1\.1 404 /);
    const ws = new WebSocket(`wss://127.0.0.1:${port}${TRANSPORT_PATH}`, TRANSPORT_PROTOCOL, { ca: ca.certPem });
    await once(ws, "open");
    ws.terminate();
    // A reverse proxy offering h2 and HTTP/1.1 gets HTTP/1.1, which it can upgrade, rather than h2 closed for want of a certificate.
    const both = tls.connect({ host: "127.0.0.1", port, ca: ca.certPem, ALPNProtocols: [ALPN.h2, ALPN.http1] });
    await once(both, "secureConnect");
    assert.equal(both.alpnProtocol, ALPN.http1);
    both.destroy();
  });

  it("refuses an agent's handshake while too many handshakes are under way, and admits it once they finished", async () => {
    const busy = await listen({ maxAgentHandshakes: 1 });
    try {
      // A handshake that stays under way (nginx's or a proxy's, say).
      const raw = await heldHandshake(busy.port, ca.certPem, ALPN.http1);
      const agent = (): Promise<string> => agentHandshake(busy.port, ca.certPem, device);
      assert.equal(await agent(), "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL");
      raw.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await agent(), "connected");
    } finally {
      busy.server.close();
    }
  });

  describe("with short limits", () => {
    let short: { server: tls.Server; port: number };
    before(async () => {
      short = await listen({ handshakeTimeoutMs: 300, headersTimeoutMs: 300 });
    });
    after(() => short.server.close());

    it("closes a connection that sends nothing at the handshake deadline", async () => {
      const ms = await closedAfter(net.connect(short.port, "127.0.0.1"));
      assert.ok(ms >= 250 && ms < 2000, `closed after ${ms} ms`);
    });

    it("closes an HTTP/1.1 connection whose upgrade does not arrive in time", async () => {
      const socket = tls.connect({ host: "127.0.0.1", port: short.port, ca: ca.certPem, ALPNProtocols: [ALPN.http1] });
      socket.once("secureConnect", () => socket.write(`GET ${TRANSPORT_PATH} HTTP/1.1\r\nhost: x\r\n`));
      const ms = await closedAfter(socket);
      assert.ok(ms >= 250 && ms < 3000, `closed after ${ms} ms`);
    });

    it("closes the WebSocket transport whose inner handshake does not come at the handshake deadline", async () => {
      const ws = new WebSocket(`wss://127.0.0.1:${short.port}${TRANSPORT_PATH}`, TRANSPORT_PROTOCOL, { ca: ca.certPem });
      ws.on("error", () => {});
      await once(ws, "open");
      const start = Date.now();
      await once(ws, "close");
      const ms = Date.now() - start;
      assert.ok(ms >= 250 && ms < 2000, `closed after ${ms} ms`);
    });
  });
});
