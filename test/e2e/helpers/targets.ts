import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import ModbusSerial from "modbus-serial";

/**
 * Real targets in the "machine LAN" — all on 127.0.0.1, the only address the tests use.
 */

/** A listening target and how to shut it. */
export interface Target {
  port: number;
  close(): Promise<void>;
}

function listen(server: net.Server | http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: net.Server | http.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function tracked(server: net.Server | http.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  return sockets;
}

/** A TCP echo server that honours half-close: it ends its side when the client ended. */
export async function startEchoServer(): Promise<Target & { accepted: () => number }> {
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    accepted++;
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  const sockets = tracked(server);
  return { port: await listen(server), close: closer(server, sockets), accepted: () => accepted };
}

/** Sends every client its SHA-256 (32 raw bytes) followed by `size` random bytes, then ends. */
export async function startDownloadServer(size: number): Promise<Target> {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on("error", () => {});
    const data = randomBytes(size);
    socket.write(createHash("sha256").update(data).digest());
    socket.end(data);
  });
  const sockets = tracked(server);
  return { port: await listen(server), close: closer(server, sockets) };
}

/** A plain `node:http` server that answers every request with `body` and remembers the requests. */
export async function startHttpServer(body: string): Promise<Target & { requests: { method: string; url: string; host: string }[] }> {
  const requests: { method: string; url: string; host: string }[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", host: req.headers.host ?? "" });
    // A Content-Length (not chunked) keeps the bytes on the wire equal to curl's header + body sizes.
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) }).end(body);
  });
  const sockets = tracked(server);
  return { port: await listen(server), requests, close: closer(server, sockets) };
}

/** A port on 127.0.0.1 where nothing listens (bound once, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real Modbus TCP slave (modbus-serial's ServerTCP) serving `registers` as holding registers. */
export interface ModbusSlave extends Target {
  registers: number[];
}

export async function startModbusSlave(registers: number[]): Promise<ModbusSlave> {
  const vector = {
    getHoldingRegister: (addr: number): number => registers[addr] ?? 0,
    setRegister: (addr: number, value: number): void => {
      registers[addr] = value;
    },
  };
  // ServerTCP treats port 0 as "default 502", so pick a free port and retry if it was taken meanwhile.
  for (let attempt = 0; ; attempt++) {
    const port = await closedPort();
    const slave = new ModbusSerial.ServerTCP(vector, { host: "127.0.0.1", port, unitID: 1 });
    const ok = await new Promise<boolean>((resolve) => {
      slave.on("initialized", () => resolve(true));
      slave.on("serverError", () => resolve(false));
    });
    slave.on("socketError", () => {});
    if (ok) return { port, registers, close: () => new Promise((resolve) => slave.close(() => resolve())) };
    if (attempt >= 5) throw new Error("cannot start the Modbus slave");
  }
}

/** Modbus TCP master: `modbus-serial`'s client. */
export const ModbusClient = ModbusSerial.default;

/** Connects to `port`, sends `data` (then half-closes) and resolves with the SHA-256 of all it received. */
export function echoRoundTrip(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true, noDelay: true });
    let received = 0;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
    });
    socket.once("end", () => {
      socket.end();
      if (received !== data.length) return reject(new Error(`echo returned ${received} of ${data.length} bytes`));
      resolve(hash.digest("hex"));
    });
    socket.once("error", reject);
    // Closed without an end or an error: fail rather than wait forever (after "end" this is a no-op).
    socket.once("close", () => reject(new Error("the connection closed before the echo ended")));
    socket.once("connect", () => socket.end(data));
  });
}

/** Connects to a download server through `port`; resolves with [announced hash, hash of what arrived, bytes]. */
export function download(port: number): Promise<{ announced: string; actual: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.once("end", () => {
      const all = Buffer.concat(chunks);
      if (all.length < 32) return reject(new Error(`download ended after ${all.length} bytes`));
      const body = all.subarray(32);
      resolve({ announced: all.subarray(0, 32).toString("hex"), actual: createHash("sha256").update(body).digest("hex"), bytes: body.length });
    });
    socket.once("error", reject);
  });
}

/** Sends one line to an echo target through `port` and resolves with what came back. */
export async function echoOnce(port: number, text = "ping\n"): Promise<string> {
  const data = Buffer.from(text);
  const expected = createHash("sha256").update(data).digest("hex");
  const got = await echoRoundTrip(port, data);
  if (got !== expected) throw new Error("echo returned different bytes");
  return text;
}

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
