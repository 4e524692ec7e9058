import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";

/** Where a connection came from, as a socket names it. */
export interface PeerAddress {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}

/** Gives `target` the address of `outer`: Node's TLS over a stream that is not a socket has none. */
export function takeAddress<T extends object>(target: T, outer: PeerAddress): T {
  return Object.defineProperties(target, { remoteAddress: { value: outer.remoteAddress }, remotePort: { value: outer.remotePort } });
}

/**
 * Runs the server side of a TLS session (`options`) on the WebSocket transport's byte stream, as
 * on a new connection from the outer connection's address, which its secure socket gets too.
 * One TLS server per stream, so that its secure socket is known to be this stream's.
 */
export function serveTlsOnStream(
  stream: Duplex,
  outer: Socket,
  options: tls.TlsOptions,
  handlers: { secure(socket: tls.TLSSocket): void; clientError(err: Error, socket: tls.TLSSocket): void },
): void {
  const address: PeerAddress = { remoteAddress: outer.remoteAddress, remotePort: outer.remotePort };
  const one = tls.createServer(options);
  one.on("secureConnection", (socket: tls.TLSSocket) => handlers.secure(takeAddress(socket, address)));
  one.on("tlsClientError", handlers.clientError);
  one.emit("connection", stream);
}
