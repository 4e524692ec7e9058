import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { FernlinkError } from "../../src/protocol/errors.js";
import { CLIENT_INIT_SHARED, decodeServerInit, type RfbHandshake, type ServerInit, upstreamHandshake } from "../../src/protocol/rfb-handshake.js";
import { createVncBridge, type VncBridge } from "../../src/web/vnc-bridge.js";
import { startXvnc, type Xvnc, xvncMissing } from "./helpers/xvnc.js";

/** Byte reader over a TCP socket or a WebSocket's messages. */
class Bytes {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiting: (() => void) | undefined;
  private ended = false;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.waiting?.();
  }

  end(): void {
    this.ended = true;
    this.waiting?.();
  }

  async read(n: number): Promise<Buffer> {
    while (this.length < n) {
      if (this.ended) throw new Error(`connection closed with ${this.length} of ${n} bytes read`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    const all = Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.length -= n;
    return all.subarray(0, n);
  }
}

/** One RFB client connection: bytes in via `bytes`, out via `send`. */
interface Rfb {
  bytes: Bytes;
  send(data: Buffer): void;
}

function tcpRfb(socket: Socket): Rfb {
  const bytes = new Bytes();
  socket.on("data", (chunk: Buffer) => bytes.push(chunk));
  socket.on("close", () => bytes.end());
  socket.on("error", () => {});
  return { bytes, send: (data) => void socket.write(data) };
}

function wsRfb(ws: WebSocket): Rfb {
  const bytes = new Bytes();
  ws.on("message", (data: Buffer) => bytes.push(data));
  ws.on("close", () => bytes.end());
  ws.on("error", () => {});
  return { bytes, send: (data) => ws.send(data) };
}

async function runHandshake<R>(rfb: Rfb, hs: RfbHandshake<R>): Promise<R> {
  const first = hs.start().send;
  if (first.length > 0) rfb.send(first);
  for (;;) {
    const step = hs.receive(await rfb.bytes.read(1));
    if (step.send.length > 0) rfb.send(step.send);
    if (step.done) return step.done.result;
  }
}

async function serverInit(rfb: Rfb): Promise<ServerInit> {
  rfb.send(CLIENT_INIT_SHARED);
  const head = await rfb.bytes.read(24);
  return decodeServerInit(Buffer.concat([head, await rfb.bytes.read(head.readUInt32BE(20))]))!;
}

/** Asks for a raw-encoded rectangle and returns the RGB of its first pixel (32 bpp true colour as ServerInit set). */
async function firstPixel(rfb: Rfb, init: ServerInit, x: number, y: number): Promise<[number, number, number]> {
  const pf = init.pixelFormat;
  assert.equal(pf.bitsPerPixel, 32);
  assert.equal(pf.trueColour, true);
  // SetEncodings [Raw], then FramebufferUpdateRequest (not incremental) for a 4x4 rectangle.
  rfb.send(Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]));
  const request = Buffer.alloc(10);
  request.writeUInt8(3, 0);
  request.writeUInt8(0, 1);
  request.writeUInt16BE(x, 2);
  request.writeUInt16BE(y, 4);
  request.writeUInt16BE(4, 6);
  request.writeUInt16BE(4, 8);
  rfb.send(request);
  for (;;) {
    const type = (await rfb.bytes.read(1))[0];
    assert.equal(type, 0, `expected a FramebufferUpdate, got message type ${type}`);
    const rects = (await rfb.bytes.read(3)).readUInt16BE(1);
    let pixel: [number, number, number] | undefined;
    for (let i = 0; i < rects; i++) {
      const header = await rfb.bytes.read(12);
      const [w, h, encoding] = [header.readUInt16BE(4), header.readUInt16BE(6), header.readInt32BE(8)];
      assert.equal(encoding, 0, `expected Raw encoding, got ${encoding}`);
      const data = await rfb.bytes.read(w * h * 4);
      const value = pf.bigEndian ? data.readUInt32BE(0) : data.readUInt32LE(0);
      const channel = (shift: number, max: number): number => Math.round((((value >>> shift) & max) * 255) / max);
      pixel ??= [channel(pf.redShift, pf.redMax), channel(pf.greenShift, pf.greenMax), channel(pf.blueShift, pf.blueMax)];
    }
    if (pixel) return pixel;
  }
}

const missing = xvncMissing();
if (missing && process.env["CI"] === "true") throw new Error(`the VNC tests need Xvnc on CI: ${missing}`);

describe("a real Xvnc", { skip: missing ? `skipped: ${missing}` : false }, () => {
  let xvnc: Xvnc;
  let portal: { http: Server; bridge: VncBridge; port: number };

  before(async () => {
    xvnc = await startXvnc("pl4nt-7!");
    const bridge = createVncBridge({
      authorize: async (_req, targetId) => {
        if (targetId !== "xvnc" && targetId !== "xvncwrong") throw new FernlinkError("not-found", `no web target "${targetId}"`);
        return {
          label: `press-7/${targetId}`,
          password: targetId === "xvnc" ? xvnc.password : "wrong",
          open: async () => {
            const socket = connect(xvnc.port, "127.0.0.1");
            await once(socket, "connect");
            return socket;
          },
        };
      },
    });
    const http = createServer((_req, res) => res.writeHead(404).end());
    http.on("upgrade", (req, socket, head) => bridge.handleUpgrade(req, socket, head));
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    portal = { http, bridge, port: (http.address() as AddressInfo).port };
  });

  after(async () => {
    portal?.bridge.close();
    portal?.http.close();
    portal?.http.closeAllConnections();
    await xvnc?.stop();
  });

  async function dial(): Promise<{ socket: Socket; rfb: Rfb }> {
    const socket = connect(xvnc.port, "127.0.0.1");
    await once(socket, "connect");
    return { socket, rfb: tcpRfb(socket) };
  }

  it("accepts the upstream handshake with the right password and announces its 640x480 desktop", async () => {
    const { socket, rfb } = await dial();
    try {
      assert.deepEqual(await runHandshake(rfb, upstreamHandshake({ password: xvnc.password, label: "xvnc" })), { version: "3.8", securityType: 2 });
      const init = await serverInit(rfb);
      assert.equal(init.width, 640);
      assert.equal(init.height, 480);
      assert.equal(init.name, xvnc.desktopName);
      assert.equal(init.pixelFormat.depth, 24);
    } finally {
      socket.destroy();
    }
  });

  it("refuses a wrong password with vnc-auth-failed", async () => {
    const { socket, rfb } = await dial();
    try {
      await assert.rejects(runHandshake(rfb, upstreamHandshake({ password: "wrong", label: "press-7/panel" })), (err: unknown) => {
        assert.ok(err instanceof FernlinkError);
        assert.equal(err.code, "vnc-auth-failed");
        assert.match(err.message, /refused the stored password of target "press-7\/panel"/);
        return true;
      });
    } finally {
      socket.destroy();
    }
  });

  it("has no password-free way in", async () => {
    const { socket, rfb } = await dial();
    try {
      await assert.rejects(
        runHandshake(rfb, upstreamHandshake({ password: undefined, label: "x" })),
        (err: unknown) => err instanceof FernlinkError && err.code === "vnc-auth-failed",
      );
    } finally {
      socket.destroy();
    }
  });

  it("shows its drawn desktop to a viewer through the bridge, which logs in with the stored password", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${portal.port}/api/v1/web-targets/xvnc/vnc`);
    const rfb = wsRfb(ws);
    await once(ws, "open");
    try {
      assert.deepEqual(await runHandshake(rfb, upstreamHandshake({ password: undefined, label: "bridge" })), { version: "3.8", securityType: 1 });
      const init = await serverInit(rfb);
      assert.deepEqual([init.width, init.height, init.name], [640, 480, xvnc.desktopName]);
      const pixel = await firstPixel(rfb, init, 100, 100);
      if (xvnc.background) assert.deepEqual(pixel, [xvnc.background.red, xvnc.background.green, xvnc.background.blue]);
    } finally {
      ws.close();
    }
  });

  it("tells a viewer through the bridge that Xvnc refused the stored password", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${portal.port}/api/v1/web-targets/xvncwrong/vnc`);
    const rfb = wsRfb(ws);
    const closed = once(ws, "close");
    await once(ws, "open");
    await assert.rejects(
      runHandshake(rfb, upstreamHandshake({ password: undefined, label: "bridge" })),
      /refused the stored password of target \\"press-7\/xvncwrong\\"/,
    );
    const [code, reason] = (await closed) as [number, Buffer];
    assert.deepEqual([code, reason.toString()], [1011, "vnc-auth-failed"]);
  });
});
