import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import http2 from "node:http2";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import tls from "node:tls";
import { type Ca, issueServerCertificate, loadOrCreateCa, signDeviceCsr } from "../access/ca.js";
import { ALPN } from "../protocol/alpn.js";
import { createLogger } from "../shared/log.js";
import { createCsrPem, generateKeyPairPem, serialOf } from "../shared/pki.js";
import { dialTls } from "../shared/server-dialer.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { agentHandshake, heldHandshake } from "./handshake-test-kit.js";
import { createTlsListener, type TlsListener, type TlsRoutes } from "./tls-listener.js";

describe("the TLS listener", () => {
  let dir: string;
  let ca: Ca;
  let serverCert: { keyPem: string; certPem: string };
  let listener: TlsListener;
  let port: number;
  const seen: { alpn: string | false | null; serial: string | undefined; reused: boolean }[] = [];
  let device: { keyPem: string; certPem: string; serial: string };

  const routes = (agent: (socket: tls.TLSSocket) => void): TlsRoutes => ({
    agent,
    lane: (socket) => socket.destroy(),
    request: (req, res) => {
      seen.push({ alpn: `HTTP/${req.httpVersion}`, serial: undefined, reused: false });
      // A POST is answered once its body is complete, as the API does.
      if (req.method === "POST") {
        req.resume();
        req.once("end", () => res.end("ok"));
      } else res.end("ok");
    },
    connect: (req) => req.stream.respond({ ":status": 200 }),
    upgrade: (_req, socket) => socket.destroy(),
  });

  async function listen(
    limits: Partial<ConnectionLimits>,
    agent: (socket: tls.TLSSocket) => void = () => {},
  ): Promise<{ listener: TlsListener; port: number }> {
    const l = createTlsListener(
      {
        keyPem: serverCert.keyPem,
        certPem: serverCert.certPem,
        caPem: ca.certPem,
        log: createLogger("test", { level: "error" }),
        limits,
        provesSession: async (headers) => headers.authorization === "Bearer good",
      },
      routes(agent),
    );
    await new Promise<void>((resolve) => l.server.listen(0, "127.0.0.1", resolve));
    return { listener: l, port: (l.server.address() as AddressInfo).port };
  }

  async function stop(l: TlsListener): Promise<void> {
    const closed = new Promise((resolve) => l.server.close(resolve));
    l.destroyConnections();
    await closed;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fernlink-tls-"));
    ca = await loadOrCreateCa(dir, { now: new Date() });
    serverCert = await issueServerCertificate(ca, { hostnames: ["localhost", "127.0.0.1"], now: new Date() });
    const { privateKeyPem } = await generateKeyPairPem();
    const signed = await signDeviceCsr(ca, {
      csrPem: await createCsrPem(privateKeyPem, { commonName: "x" }),
      deviceId: "dev-1",
      accountId: "acc-1",
      deviceName: "press-7",
      now: new Date(),
    });
    device = { keyPem: privateKeyPem, certPem: signed.certPem, serial: signed.serial };
    const record = (socket: tls.TLSSocket): void => {
      const cert = socket.getPeerCertificate();
      seen.push({ alpn: socket.alpnProtocol, serial: cert?.serialNumber ? serialOf(cert) : undefined, reused: socket.isSessionReused() });
      // Answer first: TLS 1.3 sends its session tickets with the server's first write.
      socket.end("bye");
    };
    ({ listener, port } = await listen({}, record));
  });
  after(async () => {
    await stop(listener);
    await rm(dir, { recursive: true, force: true });
  });

  function connect(options: tls.ConnectionOptions, to = port): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: "127.0.0.1", port: to, ca: ca.certPem, ...options });
      let session: Buffer | undefined;
      socket.on("session", (s: Buffer) => (session = s));
      socket.once("error", reject);
      socket.on("data", () => {});
      socket.once("close", () => Object.assign(socket, { lastSession: session }) && resolve(socket));
    });
  }

  /** Resolves with the milliseconds until `socket` closed. */
  function closedAfter(socket: net.Socket): Promise<number> {
    const start = Date.now();
    socket.on("error", () => {});
    return new Promise((resolve) => socket.once("close", () => resolve(Date.now() - start)));
  }

  async function h2Get(to: number): Promise<void> {
    const session = http2.connect(`https://127.0.0.1:${to}`, { ca: ca.certPem });
    const stream = session.request({ ":path": "/" });
    stream.resume();
    await new Promise((resolve) => stream.once("close", resolve));
    session.close();
  }

  it("routes by ALPN: agent, h2 and HTTP/1.1", async () => {
    seen.length = 0;
    await connect({ ALPNProtocols: [ALPN.agent], key: device.keyPem, cert: device.certPem });
    await h2Get(port);
    await new Promise<void>((resolve, reject) =>
      https.get({ host: "127.0.0.1", port, ca: ca.certPem, agent: false }, (res) => res.resume().once("end", resolve)).once("error", reject),
    );
    assert.deepEqual(
      seen.map((s) => s.alpn),
      [ALPN.agent, "HTTP/2.0", "HTTP/1.1"],
    );
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

  it("refuses an agent's handshake while too many handshakes are under way, never a user's, and admits the agent once they finished", async () => {
    const busy = await listen({ maxAgentHandshakes: 1 });
    // A user's handshake that stays under way.
    const raw = await heldHandshake(busy.port, ca.certPem, ALPN.h2);
    const agent = (): Promise<string> => agentHandshake(busy.port, ca.certPem, device);
    assert.equal(await agent(), "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL");
    await h2Get(busy.port);
    raw.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await agent(), "connected");
    await stop(busy.listener);
  });

  describe("with short limits", () => {
    let short: { listener: TlsListener; port: number };
    const kept: tls.TLSSocket[] = [];
    before(async () => {
      short = await listen({ handshakeTimeoutMs: 300, headersTimeoutMs: 300, idleTimeoutMs: 300, maxUnauthenticatedPerSource: 3 }, (socket) =>
        kept.push(socket),
      );
    });
    after(async () => {
      await stop(short.listener);
    });

    it("closes a connection that sends nothing, and one that stops within its ClientHello, at the handshake deadline", async () => {
      const silent = net.connect(short.port, "127.0.0.1");
      const partial = net.connect(short.port, "127.0.0.1", () => partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
      const [a, b] = await Promise.all([closedAfter(silent), closedAfter(partial)]);
      for (const ms of [a, b]) assert.ok(ms >= 250 && ms < 2000, `closed after ${ms} ms`);
    });

    it("closes an HTTP/1.1 connection whose headers do not arrive in time", async () => {
      const socket = tls.connect({ host: "127.0.0.1", port: short.port, ca: ca.certPem, ALPNProtocols: [ALPN.http1] });
      socket.once("secureConnect", () => socket.write("GET / HTTP/1.1\r\nhost: x\r\n"));
      let answer = "";
      socket.on("data", (d: Buffer) => (answer += d.toString()));
      const ms = await closedAfter(socket);
      assert.ok(ms >= 250 && ms < 3000, `closed after ${ms} ms`);
      assert.match(answer, /^HTTP\/1\.1 408 /);
    });

    it("closes an HTTP/2 connection without a stream after the idle timeout, unless a CONNECT proved a session", async () => {
      // The idle clock starts with the connection, not after the CONNECTs below.
      const start = Date.now();
      const idle = http2.connect(`https://127.0.0.1:${short.port}`, { ca: ca.certPem });
      idle.on("error", () => {});
      const proven = http2.connect(`https://127.0.0.1:${short.port}`, { ca: ca.certPem });
      const unproven = http2.connect(`https://127.0.0.1:${short.port}`, { ca: ca.certPem });
      unproven.on("error", () => {});
      for (const [session, token] of [
        [proven, "good"],
        [unproven, "bad"],
      ] as const) {
        const stream = session.request({ ":method": "CONNECT", ":authority": "10.0.0.1:502", authorization: `Bearer ${token}` });
        await new Promise((resolve) => stream.once("response", resolve));
        stream.close();
        await new Promise((resolve) => stream.once("close", resolve));
      }
      const idleMs = await new Promise<number>((resolve) => {
        if (idle.closed || idle.destroyed) return resolve(Date.now() - start);
        idle.once("close", () => resolve(Date.now() - start));
      });
      assert.ok(idleMs >= 250 && idleMs < 3000, `closed after ${idleMs} ms`);
      await new Promise((resolve) => unproven.once("close", resolve));
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(proven.closed || proven.destroyed, false, "the proven connection stays open");
      proven.close();
    });

    it("takes no resumed session for proof that never showed a certificate: it is closed when idle like any unproven one", async () => {
      const first = tls.connect({ host: "127.0.0.1", port: short.port, ca: ca.certPem, ALPNProtocols: [ALPN.http1] });
      first.on("data", () => {});
      first.on("error", () => {});
      // TLS 1.3 sends its session tickets with the server's first write: the answer.
      first.once("secureConnect", () => first.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      const [ticket] = (await once(first, "session")) as [Buffer];
      first.destroy();
      const start = Date.now();
      const socket = tls.connect({ host: "127.0.0.1", port: short.port, ca: ca.certPem, ALPNProtocols: [ALPN.h2], session: ticket });
      await once(socket, "secureConnect");
      assert.equal(socket.isSessionReused(), true, "the session was resumed");
      const session = http2.connect(`https://127.0.0.1:${short.port}`, { createConnection: () => socket });
      session.on("error", () => {});
      const ms = await new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(Number.POSITIVE_INFINITY), 3000);
        session.once("close", () => {
          clearTimeout(timer);
          resolve(Date.now() - start);
        });
      });
      session.destroy();
      assert.ok(ms >= 250 && ms < 3000, `closed after ${ms} ms`);
    });

    it("cuts a request on an unproven HTTP/2 connection whose body stops coming, and then the idle connection", async () => {
      const session = http2.connect(`https://127.0.0.1:${short.port}`, { ca: ca.certPem });
      session.on("error", () => {});
      const started = Date.now();
      const stuck = session.request({ ":method": "POST", ":path": "/api/v1/login", "content-type": "application/json" });
      stuck.on("error", () => {});
      stuck.write('{"account":');
      await new Promise((resolve) => stuck.once("close", resolve));
      const cutMs = Date.now() - started;
      assert.ok(cutMs >= 250 && cutMs < 3000, `request cut after ${cutMs} ms`);
      assert.equal(stuck.rstCode, http2.constants.NGHTTP2_CANCEL);
      await new Promise((resolve) => session.once("close", resolve));
    });

    it("refuses a source's connection past the limit at once, while another source and proven agents still connect", async () => {
      const held = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<net.Socket>((resolve) => {
              const s = net.connect(short.port, "127.0.0.1", () => resolve(s));
              s.on("error", () => {});
            }),
        ),
      );
      const start = Date.now();
      const over = net.connect(short.port, "127.0.0.1");
      const overMs = await closedAfter(over);
      assert.ok(overMs < 200, `the fourth connection was closed after ${overMs} ms`);
      const other = tls.connect({
        socket: net.connect({ host: "127.0.0.1", port: short.port, localAddress: "127.0.0.2" }),
        ca: ca.certPem,
        servername: "localhost",
        ALPNProtocols: [ALPN.h2],
      });
      await new Promise<void>((resolve, reject) => other.once("secureConnect", resolve).once("error", reject));
      other.destroy();
      for (const s of held) s.destroy();
      assert.ok(Date.now() - start < 250, "nothing here waited for a timeout");

      // Agents with our certificate do not count once their handshake is done.
      await new Promise((resolve) => setTimeout(resolve, 100));
      kept.length = 0;
      const agents: tls.TLSSocket[] = [];
      for (let i = 0; i < 4; i++) {
        agents.push(
          await new Promise<tls.TLSSocket>((resolve, reject) => {
            const s = tls.connect({
              host: "127.0.0.1",
              port: short.port,
              ca: ca.certPem,
              ALPNProtocols: [ALPN.agent],
              key: device.keyPem,
              cert: device.certPem,
            });
            s.once("secureConnect", () => resolve(s)).once("error", reject);
          }),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const after = net.connect(short.port, "127.0.0.1");
      await new Promise<void>((resolve, reject) => after.once("connect", resolve).once("error", reject));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(after.destroyed, false, "a new connection is still accepted beside four agents");
      assert.equal(kept.filter((s) => !s.destroyed).length, 4);
      after.destroy();
      for (const s of agents) s.destroy();
    });
  });

  describe("connections made by the dialer", () => {
    for (const transport of ["tls", "websocket"] as const) {
      it(`outlive the dial's deadline (${transport})`, async () => {
        // A deadline a busy machine's four handshakes (TCP, outer TLS, upgrade, inner TLS) still meet, then outlived.
        const socket = await dialTls({ host: "127.0.0.1", port, ca: ca.certPem, alpn: [ALPN.http1], transport, proxy: null, timeoutMs: 2000 });
        await new Promise((resolve) => setTimeout(resolve, 2300));
        assert.equal(socket.destroyed, false, "the socket was destroyed when the dial's deadline passed");
        socket.setEncoding("utf8");
        socket.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = "";
        socket.on("data", (d: string) => (answer += d));
        await once(socket, "end");
        assert.match(answer, /^HTTP\/1\.1 200 /);
        socket.destroy();
      });
    }
  });

  describe("the WebSocket transport", () => {
    it("hands the inner TLS session to the same routes, with the client certificate and the outer connection's address", async () => {
      let got: tls.TLSSocket | undefined;
      const { listener: l, port: p } = await listen({}, (socket) => {
        got = socket;
        socket.end("bye");
      });
      try {
        const socket = await dialTls({
          host: "127.0.0.1",
          port: p,
          ca: ca.certPem,
          cert: device.certPem,
          key: device.keyPem,
          alpn: [ALPN.agent],
          transport: "websocket",
          proxy: null,
        });
        assert.equal(socket.alpnProtocol, ALPN.agent);
        socket.resume();
        await once(socket, "end");
        assert.ok(got);
        assert.equal(got.authorized, true);
        assert.equal(serialOf(got.getPeerCertificate()), device.serial);
        assert.equal(got.remoteAddress, "127.0.0.1");
        assert.equal(typeof got.remotePort, "number");
        socket.destroy();
      } finally {
        await stop(l);
      }
    });

    it("counts an unproven inner connection against its source, in place of the connection it came on", async () => {
      const { listener: l, port: p } = await listen({ maxUnauthenticatedPerSource: 1 });
      try {
        const inner = await dialTls({ host: "127.0.0.1", port: p, ca: ca.certPem, alpn: [ALPN.http1], transport: "websocket", proxy: null });
        // The one place is the inner connection's: a second connection from the same source is refused.
        const refused = await dialTls({ host: "127.0.0.1", port: p, ca: ca.certPem, alpn: [ALPN.http1], transport: "tls", proxy: null }).then(
          (s) => {
            s.destroy();
            return false;
          },
          () => true,
        );
        assert.equal(refused, true);
        const closed = closedAfter(inner);
        inner.destroy();
        await closed;
        await waitFor(async () => {
          const s = await dialTls({ host: "127.0.0.1", port: p, ca: ca.certPem, alpn: [ALPN.http1], transport: "tls", proxy: null }).catch(() => undefined);
          s?.destroy();
          return s !== undefined;
        });
      } finally {
        await stop(l);
      }
    });
  });

  /** Polls `probe` until true (at most 5 s). */
  async function waitFor(probe: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error("timed out waiting");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
});
