import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createWebSocketStream, WebSocketServer } from "ws";
import { TRANSPORT_PATH, TRANSPORT_PROTOCOL } from "../protocol/transport.js";

/** Accepts the WebSocket transport's upgrades and hands each byte stream on, as if it were a new TCP connection. */
export interface TransportAcceptor {
  /** True for an upgrade to the transport's path. */
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** Largest WebSocket message taken: the client sends TLS records (≤ 16 KiB plus overhead) one per message or a few at once. */
const MAX_MESSAGE = 1024 * 1024;

/** The server side of the WebSocket transport: each accepted WebSocket becomes a byte stream given to `onStream`, with the connection it came on. */
export function createTransportAcceptor(onStream: (stream: Duplex, outer: Socket) => void): TransportAcceptor {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE,
    handleProtocols: (protocols) => (protocols.has(TRANSPORT_PROTOCOL) ? TRANSPORT_PROTOCOL : false),
  });
  return {
    matches: (req) => (req.url ?? "").split("?")[0] === TRANSPORT_PATH,
    handle(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on("error", () => stream.destroy());
        onStream(stream, req.socket);
      });
    },
  };
}
