import type { Http2Server, ServerHttp2Session } from "node:http2";
import { ALPN } from "../protocol/alpn.js";
import { FernlinkError } from "../protocol/errors.js";
import { AGENT_KEEPALIVE } from "../protocol/tunnel-settings.js";
import { networkError } from "../shared/https-json.js";
import { type KeepaliveOptions, startKeepalive } from "../shared/keepalive.js";
import { dialTls } from "../shared/server-dialer.js";

/** Where and how to open the tunnel. */
export interface TunnelOptions {
  host: string;
  port: number;
  /** Name checked against the relay's certificate (defaults to `host`). */
  servername?: string;
  keyPem: string;
  certPem: string;
  caPem: string;
  streamServer: Http2Server;
  keepalive?: KeepaliveOptions;
  signal?: AbortSignal;
}

/** How long TLS plus the relay's first SETTINGS may take. */
const OPEN_TIMEOUT_MS = 15_000;

/**
 * Opens the agent's one outbound TLS connection (mutual TLS, agent ALPN) and hands it to
 * the local HTTP/2 stream server: the relay speaks first, as the HTTP/2 client.
 * Resolves with the session once the relay's SETTINGS arrived. Made by the one dialer: through
 * the proxy when one is set.
 */
export async function openTunnel(options: TunnelOptions): Promise<ServerHttp2Session> {
  const where = `${options.host}:${options.port}`;
  const started = Date.now();
  const socket = await dialTls({
    host: options.host,
    port: options.port,
    servername: options.servername,
    ca: options.caPem,
    cert: options.certPem,
    key: options.keyPem,
    alpn: [ALPN.agent],
    label: where,
    signal: options.signal,
    timeoutMs: OPEN_TIMEOUT_MS,
  }).catch((err: unknown) => {
    throw err instanceof FernlinkError ? err : tunnelError(err as NodeJS.ErrnoException, where);
  });
  socket.setNoDelay(true);
  // TCP's own probes only for a path silent past the PINGs: earlier ones would cost a cellular agent bytes for nothing.
  const keepalive = options.keepalive ?? AGENT_KEEPALIVE;
  socket.setKeepAlive(true, Math.max(30_000, (keepalive.intervalMs ?? AGENT_KEEPALIVE.intervalMs) + (keepalive.timeoutMs ?? AGENT_KEEPALIVE.timeoutMs)));
  return new Promise((resolve, reject) => {
    // A relay that accepts TCP but never finishes HTTP/2 must not hang the agent.
    const timer = setTimeout(
      () => fail(Object.assign(new Error("timed out setting up the tunnel"), { code: "ETIMEDOUT" })),
      Math.max(1, OPEN_TIMEOUT_MS - (Date.now() - started)),
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err instanceof FernlinkError ? err : tunnelError(err as NodeJS.ErrnoException, where));
    };
    // Closed after TLS succeeded: the relay refused this device, which only the access service can explain.
    const refused = (): void =>
      fail(
        new FernlinkError(
          "certificate-rejected",
          `the relay ${where} closed the connection after TLS (device refused, certificate revoked, or relay draining)`,
        ),
      );
    // A relay that destroys the socket before reading the agent's SETTINGS makes the kernel send a
    // reset instead of a close: the same refusal, which must not read as an unreachable relay.
    const onError = (err: NodeJS.ErrnoException): void => (err.code === "ECONNRESET" || err.code === "EPIPE" ? refused() : fail(err));
    socket.once("error", onError);
    socket.once("close", refused);
    if (socket.alpnProtocol !== ALPN.agent) return fail(new Error(`the relay does not speak ${ALPN.agent}`));
    options.streamServer.once("session", (session: ServerHttp2Session) => {
      session.once("remoteSettings", () => {
        clearTimeout(timer);
        socket.removeListener("error", onError);
        socket.removeListener("close", refused);
        // Announced, so the relay (which only listens) waits as long as this agent's interval says.
        startKeepalive(session, { ...keepalive, announce: true });
        resolve(session);
      });
      session.once("close", refused);
    });
    options.streamServer.emit("connection", socket);
  });
}

/**
 * A relay refuses an agent's handshake at its ClientHello, with the TLS alert for an unknown
 * ALPN protocol, while it is setting up too many others (after a restart); the raw OpenSSL
 * code would read like a broken installation.
 */
function tunnelError(err: NodeJS.ErrnoException, where: string): FernlinkError {
  if (err.code === "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL") {
    return new FernlinkError(
      "server-unreachable",
      `${where} refused the tunnel at the TLS handshake: busy setting up other devices' tunnels (or not a Fernlink relay)`,
      { cause: err },
    );
  }
  return networkError(err, where);
}
