import type { TLSSocket } from "node:tls";

/**
 * True when the peer showed a certificate that chains to our CA in this connection's handshake.
 * Node calls a resumed TLS 1.3 session authorized even when no certificate was ever shown (a
 * session first made for HTTP/1.1 without one, resumed with another ALPN): `authorized` alone
 * is no proof.
 */
export function showedValidCertificate(socket: TLSSocket): boolean {
  return socket.authorized && socket.getPeerX509Certificate() !== undefined;
}
