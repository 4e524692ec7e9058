import type { TLSSocket } from "node:tls";
import { ALPN } from "../protocol/alpn.js";
import { LANE_HEADER } from "../protocol/lane.js";
import { holdHalfOpen, writeLaneMessage } from "../shared/lane-io.js";
import { dialTls, reachedViaWebSocket } from "../shared/server-dialer.js";

/** How long the TLS handshake of a lane may take; the relay waits for it behind the stream's 200. */
const LANE_DIAL_MS = 10_000;

/**
 * Opens the lane (protocol/lane.ts) a relay asked for in a stream's CONNECT: a TLS connection
 * to that relay, with the device certificate, whose first message is the request's nonce.
 * Made by the one dialer, through the proxy when one is set; not where only the WebSocket
 * transport gets through (the stream then stays on the tunnel).
 */
export async function dialLane(
  relay: { host: string; port: number },
  tls: { keyPem: string; certPem: string; caPem: string },
  nonce: string,
): Promise<TLSSocket> {
  if (reachedViaWebSocket(relay.host, relay.port)) throw new Error("the relay is reached through the WebSocket transport only");
  const socket = await dialTls({
    host: relay.host,
    port: relay.port,
    ca: tls.caPem,
    cert: tls.certPem,
    key: tls.keyPem,
    alpn: [ALPN.lane],
    label: `${relay.host}:${relay.port}`,
    timeoutMs: LANE_DIAL_MS,
    transport: "tls",
  });
  holdHalfOpen(socket);
  writeLaneMessage(socket, { [LANE_HEADER]: nonce });
  return socket;
}
