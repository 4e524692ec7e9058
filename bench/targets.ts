/**
 * Child process: the "LAN targets" (bulk sink/source, Modbus-like echo, banner). They run
 * in their own process so their event loop is not shared with the load generator or the
 * Fernlink processes being measured — in the tunnel case the agent talks to them exactly
 * as it would to a PLC on another host.
 */
import net from "node:net";
import { ACK, BULK_HEADER_BYTES, CHUNK_BYTES, type ChildMessage, MODE_DOWNLOAD, MODE_UPLOAD, RTT_REPLY_BYTES, RTT_REQUEST_BYTES } from "./shared.js";

const CHUNK = Buffer.alloc(CHUNK_BYTES, 0xa5);

function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on("error", () => {}); // the bench client destroys sockets when done; resets are normal
    onConnection(socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Writes `bytes` bytes with backpressure, then ends the socket. */
function source(socket: net.Socket, bytes: number): void {
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK_BYTES);
      left -= n;
      if (!socket.write(n === CHUNK_BYTES ? CHUNK : CHUNK.subarray(0, n))) return void socket.once("drain", pump);
    }
    socket.end();
  };
  pump();
}

function onBulk(socket: net.Socket): void {
  let header = Buffer.alloc(0);
  let expect = -1;
  let received = 0;
  socket.on("data", (data: Buffer) => {
    if (expect < 0) {
      header = Buffer.concat([header, data]);
      if (header.length < BULK_HEADER_BYTES) return;
      const mode = header[0];
      expect = Number(header.readBigUInt64BE(1));
      data = header.subarray(BULK_HEADER_BYTES);
      if (mode === MODE_DOWNLOAD) return source(socket, expect);
      if (mode !== MODE_UPLOAD) return void socket.destroy();
    }
    received += data.length;
    if (received >= expect && received - data.length < expect) socket.write(Buffer.of(ACK));
  });
}

function onEcho(socket: net.Socket): void {
  let pending = 0;
  let lastTid: Buffer = Buffer.alloc(2);
  socket.on("data", (data: Buffer) => {
    pending += data.length;
    if (data.length >= 2) lastTid = data.subarray(0, 2);
    // One reply per complete request; replies to back-to-back requests go out in one write.
    const replies = Math.floor(pending / RTT_REQUEST_BYTES);
    if (replies === 0) return;
    pending -= replies * RTT_REQUEST_BYTES;
    const out = Buffer.alloc(replies * RTT_REPLY_BYTES);
    for (let i = 0; i < replies; i++) {
      const r = out.subarray(i * RTT_REPLY_BYTES);
      lastTid.copy(r, 0);
      r.writeUInt16BE(RTT_REPLY_BYTES - 6, 4); // MBAP length field: unit id + PDU
      r[7] = 0x03; // function: read holding registers
      r[8] = RTT_REPLY_BYTES - 9; // byte count
    }
    socket.write(out);
  });
}

function onBanner(socket: net.Socket): void {
  socket.write(Buffer.of(0x42));
  socket.resume();
}

const send = (m: ChildMessage): void => void process.send?.(m);
Promise.all([listen(onBulk), listen(onEcho), listen(onBanner)]).then(
  ([bulk, echo, banner]) => send({ ok: true, ports: { bulk, echo, banner } }),
  (err: unknown) => send({ ok: false, error: String(err) }),
);
// The orchestrator owns this process: when it goes, so do we.
process.on("disconnect", () => process.exit(0));
