import http, { type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { ALPN } from "../protocol/alpn.js";
import { type Logger, throttled } from "../shared/log.js";
import { showedValidCertificate } from "./client-certificate.js";
import { CONNECTION_LIMITS, type ConnectionLimits } from "./connection-limits.js";
import { admittingAlpn, HandshakeAdmission } from "./handshake-admission.js";
import { serveTlsOnStream } from "./transport-tls.js";
import { createTransportAcceptor } from "./websocket-transport.js";

/** Where a relay's connections go once their certificate (from our CA) is checked. */
export interface RelayRoutes {
  /** An agent's tunnel (`fernlink-agent/1`); the relay asks the access service about its certificate. */
  agent(socket: tls.TLSSocket): void;
  /** An HTTP/2 connection (`h2`): an access node's, forwarding streams. */
  peer(socket: tls.TLSSocket): void;
  /** An agent's lane (`fernlink-lane/1`), the rest of one of its streams. */
  lane(socket: tls.TLSSocket): void;
}

/** The limits a relay's port keeps: handshakes, and the headers of the WebSocket transport's upgrade. */
export type RelayLimits = Pick<ConnectionLimits, "handshakeTimeoutMs" | "headersTimeoutMs" | "maxAgentHandshakes">;

/**
 * The one TLS port of `fernlink relay run`. Agents and access nodes prove themselves with a
 * certificate from our CA, straight on the port or inside the WebSocket transport (a plant that
 * lets out only HTTP/1.1, nginx terminating TLS in front of the relay). Neither a proxy nor nginx
 * can present a certificate, so the port asks for one without requiring it at the handshake:
 * - `fernlink-agent/1`, `h2` or `fernlink-lane/1` (an agent's stream moving to a connection of
 *   its own) without a valid certificate is closed here, never routed;
 * - `http/1.1` or no ALPN (the transport's outer connection) serves the upgrade on
 *   TRANSPORT_PATH and nothing else: 404. The inner TLS session then requires a certificate
 *   at its handshake and one of the two ALPNs above, as the port did before the transport.
 * Both handshakes have `handshakeTimeoutMs`; the upgrade's headers `headersTimeoutMs`. As on an
 * access node, agents' handshakes are refused while `maxAgentHandshakes` are under way: after a
 * relay restart its agents return within seconds, and those admitted must finish in time.
 */
export function createRelayListener(
  options: { keyPem: string; certPem: string; caPem: string; log: Logger; limits?: Partial<RelayLimits> },
  routes: RelayRoutes,
): tls.Server {
  const limits = { ...CONNECTION_LIMITS, ...options.limits };
  const handshakes = new HandshakeAdmission(limits.maxAgentHandshakes);
  const busyLog = throttled(options.log.info, { max: 1, intervalMs: 10_000 });
  const busy = (): void => busyLog("agent handshake refused: too many handshakes under way, the agent retries later", { max: limits.maxAgentHandshakes });
  const inner: tls.TlsOptions = {
    key: options.keyPem,
    cert: options.certPem,
    ca: options.caPem,
    requestCert: true,
    rejectUnauthorized: true,
    ALPNCallback: admittingAlpn([ALPN.h2, ALPN.agent, ALPN.lane], handshakes, busy),
    minVersion: "TLSv1.2",
    handshakeTimeout: limits.handshakeTimeoutMs,
  };
  // HTTP/1.1 before h2: a reverse proxy offering both (without a certificate) gets the upgrade
  // it can use, not h2 closed; access nodes offer h2 alone and agents their own ALPN alone.
  const server = tls.createServer({
    ...inner,
    rejectUnauthorized: false,
    ALPNCallback: admittingAlpn([ALPN.agent, ALPN.http1, ALPN.h2, ALPN.lane], handshakes, busy),
  });

  function route(socket: tls.TLSSocket): void {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    // A session first made for the upgrade, without a certificate, must not pass by resumption.
    if (!showedValidCertificate(socket)) {
      options.log.debug("connection refused: no valid client certificate", {
        address: socket.remoteAddress,
        alpn: socket.alpnProtocol,
        error: String(socket.authorizationError ?? "none presented"),
      });
      return void socket.destroy();
    }
    if (socket.alpnProtocol === ALPN.agent) routes.agent(socket);
    else if (socket.alpnProtocol === ALPN.h2) routes.peer(socket);
    else if (socket.alpnProtocol === ALPN.lane) routes.lane(socket);
    else socket.destroy();
  }
  // With a listener here Node leaves the socket open (handshake timeouts included): close it.
  function onClientError(err: Error, socket: tls.TLSSocket): void {
    options.log.debug("TLS handshake failed", { address: socket.remoteAddress, error: err.message });
    socket.destroy();
  }

  const transport = createTransportAcceptor((stream, outer) => serveTlsOnStream(stream, outer, inner, { secure: route, clientError: onClientError }));
  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.headersTimeoutMs,
      // How often Node looks for requests past their deadlines.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4))),
    },
    (_req, res) => void res.writeHead(404, { "content-type": "text/plain", connection: "close" }).end("not found\n"),
  );
  h1.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (transport.matches(req)) return transport.handle(req, socket, head);
    socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
  });
  // Node starts its request deadlines when a server starts listening; this one never listens
  // (it is handed TLS sockets), so start them here.
  h1.emit("listening");

  server.on("secureConnection", (socket: tls.TLSSocket) => {
    if (socket.alpnProtocol !== ALPN.http1 && socket.alpnProtocol !== false) return route(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    h1.emit("connection", socket);
  });
  server.on("tlsClientError", onClientError);
  return server;
}
