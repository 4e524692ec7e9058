import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from "node:http";
import { type AddressInfo, connect, createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import WebSocket from "ws";
import { FernlinkError } from "../protocol/errors.js";
import { CLIENT_INIT_SHARED, decodeServerInit, type ServerInit, upstreamHandshake } from "../protocol/rfb-handshake.js";
import { vncAuthResponse } from "../protocol/vnc-auth.js";
import { createVncBridge, type VncBridge, type VncBridgeDeps, vncBridgeTargetId } from "./vnc-bridge.js";

const PASSWORD = "pl4nt-7";

/** Reads exact byte counts from a socket. */
function reader(socket: Socket): (n: number) => Promise<Buffer> {
  let buffered = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    waiting?.();
  });
  socket.on("close", () => waiting?.());
  return async (n) => {
    while (buffered.length < n) {
      if (socket.destroyed) throw new Error("socket closed");
      await new Promise<void>((resolve) => (waiting = resolve));
    }
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
}

const SERVER_INIT = (() => {
  const name = Buffer.from("fake desktop");
  const msg = Buffer.alloc(24);
  msg.writeUInt16BE(640, 0);
  msg.writeUInt16BE(480, 2);
  Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0]).copy(msg, 4);
  msg.writeUInt32BE(name.length, 20);
  return Buffer.concat([msg, name]);
})();

/** What the fake VNC server saw and does after ServerInit. */
interface FakeVnc {
  server: NetServer;
  port: number;
  /** Every connection it accepted. */
  sockets: Socket[];
  /** Whether the clients answered the challenge with PASSWORD. */
  authResults: boolean[];
  /** After ServerInit: "echo" sends every byte back; "flood" writes `floodBytes` honouring drain. */
  mode: "echo" | "flood" | "silent";
  floodBytes: number;
  /** Bytes the flood handed to the socket so far. */
  flooded: number;
}

/** A VNC server on 127.0.0.1 speaking RFB 3.8 with VNC Authentication only. */
async function startFakeVnc(): Promise<FakeVnc> {
  const fake: FakeVnc = { server: createNetServer(), port: 0, sockets: [], authResults: [], mode: "echo", floodBytes: 0, flooded: 0 };
  fake.server.on("connection", (socket) => {
    fake.sockets.push(socket);
    socket.on("error", () => {});
    if (fake.mode === "silent") return;
    void (async () => {
      const read = reader(socket);
      socket.write("RFB 003.008\n");
      assert.equal((await read(12)).toString(), "RFB 003.008\n");
      socket.write(Buffer.from([1, 2]));
      assert.equal((await read(1))[0], 2);
      const challenge = randomBytes(16);
      socket.write(challenge);
      const ok = (await read(16)).equals(vncAuthResponse(PASSWORD, challenge));
      fake.authResults.push(ok);
      if (!ok) {
        const reason = Buffer.from("Authentication failed");
        const len = Buffer.alloc(4);
        len.writeUInt32BE(reason.length);
        socket.end(Buffer.concat([Buffer.from([0, 0, 0, 1]), len, reason]));
        return;
      }
      socket.write(Buffer.from([0, 0, 0, 0]));
      await read(1);
      socket.write(SERVER_INIT);
      if (fake.mode === "echo") {
        socket.removeAllListeners("data");
        socket.pipe(socket);
      } else {
        const chunk = randomBytes(64 * 1024);
        while (fake.flooded < fake.floodBytes && !socket.destroyed) {
          fake.flooded += chunk.length;
          if (!socket.write(chunk)) await once(socket, "drain");
        }
      }
    })().catch(() => socket.destroy());
  });
  fake.server.listen(0, "127.0.0.1");
  await once(fake.server, "listening");
  fake.port = (fake.server.address() as AddressInfo).port;
  return fake;
}

/** An HTTP server on 127.0.0.1 routing upgrades to a bridge built from `deps`. */
async function startPortal(deps: VncBridgeDeps): Promise<{ http: HttpServer; bridge: VncBridge; url: (id: string) => string }> {
  const bridge = createVncBridge(deps);
  const http = createHttpServer((_req, res) => res.writeHead(404).end());
  http.on("upgrade", (req, socket, head) => bridge.handleUpgrade(req, socket, head));
  http.listen(0, "127.0.0.1");
  await once(http, "listening");
  const { port } = http.address() as AddressInfo;
  return { http, bridge, url: (id) => `ws://127.0.0.1:${port}/api/v1/web-targets/${id}/vnc` };
}

/** A viewer like noVNC: RFB client over WebSocket, no password (the bridge offers None). */
class Viewer {
  readonly ws: WebSocket;
  private chunks: Buffer[] = [];
  private length = 0;
  private waiting: (() => void) | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, protocols: string[] = []) {
    this.ws = new WebSocket(url, protocols);
    this.ws.on("message", (data: Buffer) => {
      this.chunks.push(data);
      this.length += data.length;
      this.waiting?.();
    });
    this.ws.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.ws.on("close", (code, reason) => {
        this.waiting?.();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /** Waits for at least `n` bytes from the bridge and takes exactly `n`. */
  async read(n: number): Promise<Buffer> {
    while (this.length < n) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`WebSocket closed with ${this.length} of ${n} bytes`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length -= n;
    return all.subarray(0, n);
  }

  /** Runs the RFB handshake as a client; resolves with its result or rejects with its error. */
  async handshake(): Promise<unknown> {
    await once(this.ws, "open");
    const hs = upstreamHandshake({ password: undefined, label: "bridge" });
    hs.start();
    for (;;) {
      const step = hs.receive(await this.read(1));
      if (step.send.length > 0) this.ws.send(step.send);
      if (step.done) return step.done.result;
    }
  }

  /** Sends ClientInit and reads ServerInit. */
  async init(): Promise<ServerInit> {
    this.ws.send(CLIENT_INIT_SHARED);
    const head = await this.read(24);
    const rest = await this.read(head.readUInt32BE(20));
    return decodeServerInit(Buffer.concat([head, rest]))!;
  }
}

/** Opens a WebSocket that the bridge must refuse; the HTTP status and body of the refusal. */
async function refusal(url: string, origin?: string): Promise<{ status: number | undefined; body: string }> {
  const ws = new WebSocket(url, origin ? { origin } : {});
  ws.on("error", () => {});
  const [, res] = (await once(ws, "unexpected-response")) as [unknown, IncomingMessage];
  let body = "";
  for await (const chunk of res) body += String(chunk);
  ws.terminate();
  return { status: res.statusCode, body };
}

describe("vncBridgeTargetId", () => {
  const cases: [string | undefined, string | undefined][] = [
    ["/api/v1/web-targets/abcdefgh2345/vnc", "abcdefgh2345"],
    ["/api/v1/web-targets/abcdefgh2345/vnc?x=1", "abcdefgh2345"],
    ["/api/v1/web-targets/abc/vnc/", undefined],
    ["/api/v1/web-targets//vnc", undefined],
    ["/api/v1/web-targets/a%2Fb/vnc", undefined],
    ["/api/v1/web-targets/../vnc", undefined],
    ["/api/v1/devices/x/web", undefined],
    [undefined, undefined],
  ];
  for (const [url, id] of cases) {
    it(`reads ${JSON.stringify(url)} as ${JSON.stringify(id)}`, () => assert.equal(vncBridgeTargetId(url), id));
  }
});

describe("the VNC bridge", () => {
  let fake: FakeVnc;
  let portal: Awaited<ReturnType<typeof startPortal>>;
  let opened: Socket[] = [];
  let authorizeCalls: string[] = [];
  /** What authorize does next, per target id. */
  const grants = new Map<string, { password: string | undefined; open?: () => Promise<Socket> }>();
  let refuseWith: FernlinkError | undefined;

  const openFake = async (): Promise<Socket> => {
    const socket = connect(fake.port, "127.0.0.1");
    await once(socket, "connect");
    opened.push(socket);
    return socket;
  };

  before(async () => {
    fake = await startFakeVnc();
    portal = await startPortal({
      handshakeTimeoutMs: 500,
      checkOrigin: (req) => {
        if (req.headers.origin === "https://evil.example") throw new FernlinkError("forbidden", "not from the portal's page");
      },
      authorize: async (req, targetId) => {
        authorizeCalls.push(targetId);
        assert.ok(req.headers["sec-websocket-key"]);
        if (refuseWith) throw refuseWith;
        const grant = grants.get(targetId);
        if (!grant) throw new FernlinkError("not-found", `no web target "${targetId}"`);
        return { password: grant.password, label: `press-7/${targetId}`, open: grant.open ?? openFake };
      },
    });
    grants.set("panel", { password: PASSWORD });
    grants.set("wrongpw", { password: "not-it" });
    grants.set("offline", { password: PASSWORD, open: () => Promise.reject(new FernlinkError("device-offline", 'device "press-7" is offline')) });
  });

  after(async () => {
    portal.bridge.close();
    portal.http.close();
    portal.http.closeAllConnections();
    for (const s of fake.sockets) s.destroy();
    fake.server.close();
  });

  const reset = (): void => {
    opened = [];
    authorizeCalls = [];
    refuseWith = undefined;
    fake.mode = "echo";
  };

  it("offers the viewer None while it answers the VNC server's challenge with the stored password", async () => {
    reset();
    const viewer = new Viewer(portal.url("panel"));
    assert.deepEqual(await viewer.handshake(), { version: "3.8", securityType: 1 });
    const init = await viewer.init();
    assert.equal(init.width, 640);
    assert.equal(init.height, 480);
    assert.equal(init.name, "fake desktop");
    assert.equal(fake.authResults.at(-1), true);
    assert.deepEqual(authorizeCalls, ["panel"]);
    viewer.ws.close();
    await viewer.closed;
  });

  it("pipes bytes both ways unchanged after the handshake", async () => {
    reset();
    const viewer = new Viewer(portal.url("panel"));
    await viewer.handshake();
    await viewer.init();
    const data = randomBytes(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i += 100_000) viewer.ws.send(data.subarray(i, i + 100_000));
    const echoed = await viewer.read(data.length);
    assert.equal(createHash("sha256").update(echoed).digest("hex"), createHash("sha256").update(data).digest("hex"));
    viewer.ws.close();
    await viewer.closed;
  });

  it("chooses the binary subprotocol when the viewer asks for it", async () => {
    reset();
    const viewer = new Viewer(portal.url("panel"), ["binary"]);
    await viewer.handshake();
    assert.equal(viewer.ws.protocol, "binary");
    viewer.ws.close();
    await viewer.closed;
  });

  it("stops reading the VNC stream while the browser does not read, and loses nothing", async () => {
    reset();
    fake.mode = "flood";
    fake.flooded = 0;
    fake.floodBytes = 96 * 1024 * 1024;
    const viewer = new Viewer(portal.url("panel"));
    await viewer.handshake();
    viewer.ws.send(CLIENT_INIT_SHARED);
    await viewer.read(SERVER_INIT.length);
    viewer.ws.pause();
    let stalledAt = -1;
    for (let i = 0; i < 50; i++) {
      const before = fake.flooded;
      await sleep(100);
      if (fake.flooded === before) {
        stalledAt = before;
        break;
      }
    }
    assert.ok(stalledAt > 0 && stalledAt < fake.floodBytes, `the VNC server was never held back (${fake.flooded} bytes written)`);
    viewer.ws.resume();
    await viewer.read(fake.floodBytes);
    viewer.ws.close();
    await viewer.closed;
  });

  it("closes the tunnel stream when the browser closes", async () => {
    reset();
    const viewer = new Viewer(portal.url("panel"));
    await viewer.handshake();
    await viewer.init();
    viewer.ws.close();
    await viewer.closed;
    const stream = opened[0]!;
    if (!stream.destroyed) await once(stream, "close");
  });

  it("closes the WebSocket when the VNC server closes", async () => {
    reset();
    const viewer = new Viewer(portal.url("panel"));
    await viewer.handshake();
    await viewer.init();
    fake.sockets.at(-1)!.end();
    assert.equal((await viewer.closed).code, 1000);
  });

  it("tells the viewer why authorize refused it, as a security failure, opening nothing", async () => {
    reset();
    refuseWith = new FernlinkError("forbidden", 'you may not open web target "panel"');
    const viewer = new Viewer(portal.url("panel"));
    await assert.rejects(viewer.handshake(), /you may not open web target \\"panel\\"/);
    assert.deepEqual(await viewer.closed, { code: 1011, reason: "forbidden" });
    assert.equal(opened.length, 0);
  });

  it("survives a malformed frame from a viewer it is refusing", async () => {
    reset();
    refuseWith = new FernlinkError("unauthenticated", "sign in first");
    const raw = connect(Number(new URL(portal.url("panel")).port), "127.0.0.1");
    raw.on("error", () => {});
    await once(raw, "connect");
    raw.write(
      [
        "GET /api/v1/web-targets/panel/vnc HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "",
        "",
      ].join("\r\n"),
    );
    await once(raw, "data"); // 101, then the refusal's RFB bytes
    raw.write(Buffer.from([0x82, 0x01, 0x00])); // unmasked: a protocol error on the server's side
    await once(raw, "close");
    // Still serving: a real viewer is refused in RFB as before.
    const viewer = new Viewer(portal.url("panel"));
    await assert.rejects(viewer.handshake(), /sign in first/);
  });

  it("refuses a page of another origin in plain HTTP, before authorize is asked", async () => {
    reset();
    const { status, body } = await refusal(portal.url("panel"), "https://evil.example");
    assert.equal(status, 403);
    assert.equal(JSON.parse(body).error.code, "forbidden");
    assert.deepEqual(authorizeCalls, []);
  });

  it("answers 500 without details when authorize fails unexpectedly", async () => {
    reset();
    refuseWith = new Error("database on fire") as FernlinkError;
    const { status, body } = await refusal(portal.url("panel"));
    assert.equal(status, 500);
    assert.equal(JSON.parse(body).error.code, "internal");
    assert.doesNotMatch(body, /fire/);
  });

  it("answers 404 on a path that is not a VNC bridge without asking authorize", async () => {
    reset();
    const { status } = await refusal(portal.url("panel").replace("/vnc", "/vncx"));
    assert.equal(status, 404);
    assert.deepEqual(authorizeCalls, []);
  });

  it("tells the viewer, as a security failure with the reason, that the VNC server refused the stored password", async () => {
    reset();
    const viewer = new Viewer(portal.url("wrongpw"));
    await assert.rejects(viewer.handshake(), (err: unknown) => {
      assert.ok(err instanceof FernlinkError);
      assert.match(err.message, /refused the connection: "the VNC server refused the stored password of target \\"press-7\/wrongpw\\"/);
      return true;
    });
    assert.deepEqual(await viewer.closed, { code: 1011, reason: "vnc-auth-failed" });
    assert.equal(fake.authResults.at(-1), false);
  });

  it("tells the viewer why the tunnel stream could not be opened", async () => {
    reset();
    const viewer = new Viewer(portal.url("offline"));
    await assert.rejects(viewer.handshake(), /device \\"press-7\\" is offline/);
    assert.deepEqual(await viewer.closed, { code: 1011, reason: "device-offline" });
  });

  it("gives up on a VNC server that does not answer within the handshake timeout", async () => {
    reset();
    fake.mode = "silent";
    const viewer = new Viewer(portal.url("panel"));
    await assert.rejects(viewer.handshake(), /did not answer within 500 ms/);
    assert.equal((await viewer.closed).reason, "target-timeout");
    const stream = opened[0]!;
    if (!stream.destroyed) await once(stream, "close");
  });

  it("closes a viewer that sends garbage instead of its version, and the tunnel stream with it", async () => {
    reset();
    const ws = new WebSocket(portal.url("panel"));
    ws.on("message", () => ws.send("GET / HTTP/1.1\r\n"));
    const [code, reason] = (await once(ws, "close")) as [number, Buffer];
    assert.equal(code, 1002);
    assert.equal(reason.toString(), "invalid-input");
    const stream = opened[0]!;
    if (!stream.destroyed) await once(stream, "close");
  });

  it("closes live connections when it is closed", async () => {
    reset();
    const viewer = new Viewer(portal.url("panel"));
    await viewer.handshake();
    await viewer.init();
    portal.bridge.close();
    assert.equal((await viewer.closed).code, 1001);
  });
});
