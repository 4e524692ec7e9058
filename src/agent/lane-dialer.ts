import type { TLSSocket } from "node:tls";
import { LANE_HEADER } from "../protocol/lane.js";
import { dialLaneSocket, writeLaneMessage } from "../shared/lane-io.js";
import { reachedViaWebSocket } from "../shared/server-dialer.js";

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
  const socket = await dialLaneSocket({
    host: relay.host,
    port: relay.port,
    ca: tls.caPem,
    cert: tls.certPem,
    key: tls.keyPem,
    label: `${relay.host}:${relay.port}`,
  });
  writeLaneMessage(socket, { [LANE_HEADER]: nonce });
  return socket;
}
