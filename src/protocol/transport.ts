/**
 * The WebSocket transport: for networks that pass only HTTP/1.1 (a proxy that does not tunnel
 * other protocols, a reverse proxy terminating TLS in front of the server). The client opens a
 * WebSocket on this path and runs, inside its byte stream, the same TLS session (certificates,
 * ALPN) it would have run on the server's port; the server hands it to the same router.
 */
export const TRANSPORT_PATH = "/api/v1/transport";

/** The WebSocket subprotocol: the messages carry the bytes of a TLS session, in order. */
export const TRANSPORT_PROTOCOL = "fernlink-tls";
