import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { ALPN, SERVER_ALPN } from "../protocol/alpn.js";
import { type Logger, throttled } from "../shared/log.js";
import { readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";
import { showedValidCertificate } from "./client-certificate.js";
import { CONNECTION_LIMITS, type ConnectionLimits } from "./connection-limits.js";
import { admittingAlpn, HandshakeAdmission } from "./handshake-admission.js";
import { SourceLimit } from "./source-limit.js";
import { serveTlsOnStream, takeAddress } from "./transport-tls.js";
import { createTransportAcceptor } from "./websocket-transport.js";

/** Where each kind of connection goes once TLS told us what it is. */
export interface TlsRoutes {
  /** A tunnel connection (`fernlink-agent/1`); the relay checks its certificate against the store. */
  agent(socket: tls.TLSSocket): void;
  /** A stream on a connection of its own (`fernlink-lane/1`); `proven` ends its count as an unproven connection. */
  lane(socket: tls.TLSSocket, proven: () => void): void;
  /** A request over HTTP/2 or HTTP/1.1. */
  request(req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void;
  /** An HTTP/2 CONNECT stream (a client's tunnel stream). */
  connect(req: Http2ServerRequest): void;
  /** An HTTP/1.1 upgrade (WebSockets). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** The one TLS port, with the HTTP servers it hands connections to. */
export interface TlsListener {
  server: tls.Server;
  /** Ends every connection at once, handshakes included. */
  destroyConnections(): void;
}

/** One accepted TCP connection, from its first byte. */
interface Connection {
  socket: Socket;
  source: string;
  /** Gives back the source's slot; set while the connection is unproven. */
  release: (() => void) | undefined;
}

/**
 * The one TLS port: API, web and tunnels, told apart by ALPN. A client certificate is
 * requested (signed by our CA) but not required here: agents prove themselves with it,
 * users with a session token, and browsers without a matching certificate are not asked.
 *
 * Every connection starts unauthenticated: it counts against its source's limit and must
 * finish its handshake within `handshakeTimeoutMs`. What proves it, by ALPN:
 * - any ALPN: a client certificate that chains to our CA, once the handshake is done (an
 *   agent's tunnel: the relay then checks it against the store and keeps it alive with PINGs,
 *   an idle tunnel is normal; a relay's link and its questions about agents; an access node).
 * - `h2`: a CONNECT stream whose bearer token is a valid session or API token
 *   (`provesSession`). A `fernlink connect` connection may then sit idle for hours between
 *   streams. Browsers' connections (cookies, checked per request) stay unproven: they are
 *   closed after `idleTimeoutMs` without a stream, which browsers expect and reopen.
 * - `fernlink-lane/1`: a client's stream request that the relay authorised (an agent's lane
 *   shows its certificate). It then carries its one stream for as long as that lasts.
 * - `http/1.1`: never; Node's header timeout and keep-alive timeout apply to every
 *   request. An upgraded socket (WebSocket) leaves the HTTP server and belongs to its handler.
 * A proven connection gives its slot back and has no idle limit here.
 */
export function createTlsListener(
  options: {
    keyPem: string;
    certPem: string;
    caPem: string;
    log: Logger;
    /** A certificate for a host name the default one does not cover (SNI); undefined keeps the default. */
    contextFor?: (servername: string) => Promise<tls.SecureContext | undefined>;
    limits?: Partial<ConnectionLimits>;
    /** True when a CONNECT stream's headers carry a valid session; proves its connection. */
    provesSession?: (headers: IncomingHttpHeaders, source: string) => Promise<boolean>;
  },
  routes: TlsRoutes,
): TlsListener {
  const limits = { ...CONNECTION_LIMITS, ...options.limits };
  const perSource = new SourceLimit(limits.maxUnauthenticatedPerSource);
  const handshakes = new HandshakeAdmission(limits.maxAgentHandshakes);
  const connections = new Map<string, Connection>();
  const refusedLog = throttled(options.log.warn, { max: 5, intervalMs: 60_000 });
  const busyLog = throttled(options.log.info, { max: 1, intervalMs: 10_000 });
  const keyOf = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string => `${s.remoteAddress}|${s.remotePort}`;
  const prove = (conn: Connection | undefined): void => {
    conn?.release?.();
    if (conn) conn.release = undefined;
  };

  const h2 = http2.createServer(TUNNEL_SESSION_OPTIONS, routes.request);
  // Node's compatibility layer hands CONNECT requests to "connect", not "request".
  h2.on("connect", routes.connect);
  h2.on("session", (session: ServerHttp2Session) => {
    readyTunnelSession(session);
    watchIdle(session, connections.get(keyOf(session.socket)));
  });

  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      // How often Node looks for requests past their header (and whole-request) deadline.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4))),
    },
    routes.request,
  );
  h1.keepAliveTimeout = limits.idleTimeoutMs;
  // The WebSocket transport's byte stream is a new connection to this same TLS server, from the
  // outer connection's address: it takes over the outer's place (the outer is now only its
  // carrier), counts as unproven until the inner TLS session proves itself like any other
  // (agents by certificate, clients per stream), and is closed when idle like any other.
  const transport = createTransportAcceptor((stream, outer) => {
    prove(connections.get(keyOf(outer)));
    if (!accept(takeAddress(stream, outer))) return;
    serveTlsOnStream(stream, outer, serverOptions, { secure: onSecure, clientError: onClientError });
  });
  h1.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!transport.matches(req)) return routes.upgrade(req, socket, head);
    transport.handle(req, socket, head);
  });
  // Node starts its header and request deadlines when a server starts listening; this one
  // never listens (it is handed TLS sockets), so start them here.
  h1.emit("listening");

  function watchIdle(session: ServerHttp2Session, conn: Connection | undefined): void {
    if (!conn) return;
    let open = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(timer);
      if (open > 0 || conn.release === undefined) return;
      timer = setTimeout(() => {
        if (conn.release === undefined) return;
        session.close();
        // A peer that stops reading never lets the GOAWAY out.
        setTimeout(() => conn.socket.destroy(), 2000).unref();
      }, limits.idleTimeoutMs);
      timer.unref();
    };
    session.on("stream", (stream: http2.ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      open++;
      clearTimeout(timer);
      // On an unproven connection a request must keep moving until it is answered: a stream
      // that never finishes its body would otherwise keep the connection, and its source's
      // place under the cap, forever. Answered streams (event streams, HMI pages) are left be.
      if (conn.release && headers[":method"] !== "CONNECT") {
        stream.setTimeout(limits.idleTimeoutMs, () => {
          stream.setTimeout(0);
          if (conn.release !== undefined && !stream.headersSent) stream.close(http2.constants.NGHTTP2_CANCEL);
        });
      }
      stream.once("close", () => {
        open--;
        arm();
      });
      if (conn.release && headers[":method"] === "CONNECT" && options.provesSession) {
        options.provesSession(headers, conn.source).then(
          (valid) => valid && prove(conn),
          () => {},
        );
      }
    });
    session.once("close", () => clearTimeout(timer));
    arm();
  }

  const contextFor = options.contextFor;
  const serverOptions: tls.TlsOptions = {
    ...(contextFor
      ? {
          SNICallback: (servername: string, done: (err: Error | null, context?: tls.SecureContext) => void) =>
            void contextFor(servername).then(
              (context) => done(null, context),
              (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
            ),
        }
      : {}),
    key: options.keyPem,
    cert: options.certPem,
    ca: options.caPem,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNCallback: admittingAlpn(SERVER_ALPN, handshakes, () =>
      busyLog("agent handshake refused: too many handshakes under way, the agent retries later", { max: limits.maxAgentHandshakes }),
    ),
    minVersion: "TLSv1.2",
    handshakeTimeout: limits.handshakeTimeoutMs,
  };
  const server = tls.createServer(serverOptions);
  /** Counts a new connection against its source; false (and the connection closed) past the limit. */
  function accept(socket: Socket | Duplex): boolean {
    const source = (socket as Socket).remoteAddress;
    const release = source === undefined ? undefined : perSource.acquire(source);
    if (!release) {
      refusedLog("connection refused: too many unauthenticated connections from one source", { source, max: limits.maxUnauthenticatedPerSource });
      socket.destroy();
      return false;
    }
    const key = keyOf(socket as Socket);
    const conn: Connection = { socket: socket as Socket, source: source!, release };
    connections.set(key, conn);
    socket.once("close", () => {
      release();
      if (connections.get(key) === conn) connections.delete(key);
    });
    return true;
  }
  server.on("connection", accept);
  server.on("secureConnection", onSecure);
  function onSecure(socket: tls.TLSSocket): void {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    // A client certificate from our CA (agent, relay, access node) proves the connection.
    if (showedValidCertificate(socket)) prove(connections.get(keyOf(socket)));
    switch (socket.alpnProtocol) {
      case ALPN.agent:
        return void routes.agent(socket);
      case ALPN.lane:
        return void routes.lane(socket, () => prove(connections.get(keyOf(socket))));
      case ALPN.h2:
        h2.emit("connection", socket);
        return;
      default:
        h1.emit("connection", socket);
        return;
    }
  }
  // With a listener here Node leaves the socket open (handshake timeouts included): close it.
  function onClientError(err: Error, socket: tls.TLSSocket): void {
    options.log.debug("TLS handshake failed", { address: socket.remoteAddress, error: err.message });
    socket.destroy();
  }
  server.on("tlsClientError", onClientError);

  return {
    server,
    destroyConnections(): void {
      for (const conn of connections.values()) conn.socket.destroy();
      h2.close();
      h1.close();
    },
  };
}
