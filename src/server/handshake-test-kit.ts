import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { ALPN } from "../protocol/alpn.js";

/**
 * A TLS handshake that stays under way on `port`: its ClientHello is sent, the server's answer
 * is held back. Resolves once the server answered (its place is taken); destroy it to end it.
 */
export async function heldHandshake(port: number, caPem: string, alpn: string): Promise<net.Socket> {
  const raw = net.connect(port, "127.0.0.1");
  raw.on("error", () => {});
  const wire = new Duplex({ write: (chunk: Buffer, _encoding, done) => void raw.write(chunk, done), read: () => {} });
  const stalled = tls.connect({ socket: wire, ca: caPem, servername: "localhost", ALPNProtocols: [alpn] });
  stalled.on("error", () => {});
  await new Promise((resolve) => raw.once("data", resolve));
  return raw;
}

/** An agent's handshake on `port` with its certificate: "connected", or the error code it met. */
export function agentHandshake(port: number, caPem: string, device: { keyPem: string; certPem: string }): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: caPem, ALPNProtocols: [ALPN.agent], key: device.keyPem, cert: device.certPem });
    s.once("secureConnect", () => {
      s.destroy();
      resolve("connected");
    }).once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
  });
}
