import tls from "node:tls";
import { ALPN, SERVER_ALPN } from "../protocol/alpn.js";
import type { Logger } from "../shared/log.js";

/** Where each kind of connection goes once TLS told us what it is. */
export interface TlsRoutes {
  agent(socket: tls.TLSSocket): void;
  h2(socket: tls.TLSSocket): void;
  http1(socket: tls.TLSSocket): void;
}

/**
 * The one TLS port: API, web and tunnels, told apart by ALPN. A client certificate is
 * requested (signed by our CA) but not required here: agents prove themselves with it,
 * users with a session token, and browsers without a matching certificate are not asked.
 */
export function createTlsListener(
  options: {
    keyPem: string;
    certPem: string;
    caPem: string;
    log: Logger;
    /** A certificate for a host name the default one does not cover (SNI); undefined keeps the default. */
    contextFor?: (servername: string) => Promise<tls.SecureContext | undefined>;
  },
  routes: TlsRoutes,
): tls.Server {
  const contextFor = options.contextFor;
  const server = tls.createServer({
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
    ALPNProtocols: [...SERVER_ALPN],
    minVersion: "TLSv1.2",
  });
  server.on("secureConnection", (socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => {});
    switch (socket.alpnProtocol) {
      case ALPN.agent:
        return routes.agent(socket);
      case ALPN.h2:
        return routes.h2(socket);
      default:
        return routes.http1(socket);
    }
  });
  server.on("tlsClientError", (err, socket) => {
    options.log.debug("TLS handshake failed", { address: socket.remoteAddress, error: err.message });
  });
  return server;
}
