import type http from "node:http";
import type http2 from "node:http2";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { getRequestListener } from "@hono/node-server";
import { FernlinkError } from "../protocol/errors.js";
import { FORWARD_HEADER, PUBLISH_HEADER, RELAY_ROUTES } from "../protocol/relay-link.js";
import { errorResponseHeaders } from "../protocol/stream-headers.js";
import type { Relay } from "../relay/relay.js";
import { NODE_URN_PREFIX, urnIdFromCertificate } from "../shared/pki.js";
import type { createHmiProxy } from "../web/hmi-proxy.js";
import type { createVncBridge } from "../web/vnc-bridge.js";
import { strictTransportSecurity } from "../web/web-host.js";
import { answerHealth } from "./health.js";
import type { RelayLinks } from "./relay-links.js";
import type { TlsRoutes } from "./tls-listener.js";

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;
type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;
type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** What the one port serves. */
export interface RouterParts {
  relay: Relay;
  /** False with `--no-relay`: agents' tunnels are refused here. */
  acceptsAgents: boolean;
  relayLinks: RelayLinks;
  /** Answers a relay's stream for a connection to one of its published ports (publish-streams.ts). */
  publishStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;
  api: ReturnType<typeof getRequestListener>;
  portal: ReturnType<typeof getRequestListener>;
  hmi: ReturnType<typeof createHmiProxy>;
  vnc: ReturnType<typeof createVncBridge>;
  /** The /readyz check (see health.ts). */
  ready: () => Promise<boolean>;
}

// A node's connection carries many forwarded streams: its certificate is read once.
const accessNodes = new WeakMap<TLSSocket, boolean>();

/** True when the TLS peer proved, with a certificate from our CA, that it is an access node. */
export function isAccessNode(socket: TLSSocket | undefined): boolean {
  if (socket?.authorized !== true) return false;
  let known = accessNodes.get(socket);
  if (known === undefined) {
    known = urnIdFromCertificate(socket.getPeerCertificate(), NODE_URN_PREFIX) !== undefined;
    accessNodes.set(socket, known);
  }
  return known;
}

/**
 * Which host, path or upgrade goes where on the one TLS port: HMI host names to the HMI proxy,
 * /healthz and /readyz to the probes, relays' links to their handler, /api/ to the REST API, the rest to the portal; CONNECT
 * streams to the relay (from access nodes: forwarded streams; from relays: their published ports'
 * connections); agents' tunnels to the relay.
 */
export function onePortRoutes(parts: RouterParts): TlsRoutes {
  const { relay, hmi, vnc } = parts;
  return {
    agent: (socket) => (parts.acceptsAgents ? relay.acceptAgentSocket(socket) : socket.destroy()),
    lane: (socket, proven) => relay.acceptLaneSocket(socket, proven),
    request: (req: AnyRequest, res: AnyResponse) => {
      if (hmi.owns(req)) return hmi.handle(req, res);
      const hsts = strictTransportSecurity((req.headers as Record<string, string | undefined>)[":authority"] ?? req.headers.host ?? "");
      if (hsts) res.setHeader("strict-transport-security", hsts);
      const url = req.url ?? "";
      if (answerHealth(req, res, parts.ready)) return;
      if (url === RELAY_ROUTES.link && "stream" in req) return parts.relayLinks.handle(req, res as http2.Http2ServerResponse);
      const handler: RequestHandler = url.startsWith("/api/") ? parts.api : parts.portal;
      void handler(req as http.IncomingMessage, res as http.ServerResponse);
    },
    connect: (req) => {
      if (req.headers[PUBLISH_HEADER.job] !== undefined) return parts.publishStream(req.stream, req.headers);
      if (req.headers[FORWARD_HEADER.deviceId] === undefined) return relay.handleClientStream(req.stream, req.headers, req.socket.remoteAddress ?? "unknown");
      if (isAccessNode(req.stream.session?.socket as TLSSocket | undefined)) return relay.handleForwardedStream(req.stream, req.headers);
      req.stream.respond(errorResponseHeaders(new FernlinkError("forbidden", "only access nodes may forward streams")), { endStream: true });
    },
    // Browsers open WebSockets over HTTP/1.1: HMI pages' own, and the portal's VNC viewer.
    upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (hmi.owns(req)) return hmi.handleUpgrade(req, socket, head);
      if (vnc.match(req.url) !== undefined) return vnc.handleUpgrade(req, socket, head);
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n");
    },
  };
}
