import { X509Certificate } from "node:crypto";
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { FernlinkError } from "../protocol/errors.js";
import { bypassesProxy, type ProxySetting } from "../protocol/proxy-settings.js";
import { connectThroughProxy } from "./proxy-tunnel.js";
import { secureContextFor } from "./secure-contexts.js";
import { openTransportStream, outerTrust } from "./websocket-dial.js";

/** How every outbound connection to a Fernlink server is made: TLS, directly or through the proxy. */
export interface DialOptions {
  host: string;
  port: number;
  /** Name checked against the certificate (defaults to `host` unless it is an address). */
  servername?: string | undefined;
  /** PEM of the CA to trust (or several); undefined means the system store. */
  ca?: string | readonly string[] | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  alpn: readonly string[];
  /** How the server is named in messages (its URL, or host:port). */
  label?: string;
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
  /** Overrides the process's proxy (`useProxy`); null: direct. */
  proxy?: ProxySetting | null;
  /** "auto" (default): TLS, else the WebSocket transport when the TLS path is blocked; or only one of them. */
  transport?: "auto" | "tls" | "websocket";
}

let processProxy: ProxySetting | undefined;

/** The proxy every connection of this process goes through (set once by the CLI from --proxy / HTTPS_PROXY). */
export function useProxy(proxy: ProxySetting | undefined): void {
  processProxy = proxy;
}

/** The proxy a connection to `host:port` takes, if any: NO_PROXY entries go direct. */
export function proxyFor(host: string, port: number, override?: ProxySetting | null): ProxySetting | undefined {
  const proxy = override === null ? undefined : (override ?? processProxy);
  if (!proxy || bypassesProxy(proxy.noProxy, host, port)) return undefined;
  return proxy;
}

/** A TCP connection to `host:port`, direct or through the proxy; resolves once it carries bytes. */
export function dialTcp(host: string, port: number, options: { proxy?: ProxySetting | null; signal?: AbortSignal | undefined } = {}): Promise<net.Socket> {
  const proxy = proxyFor(host, port, options.proxy);
  if (proxy) return connectThroughProxy(proxy, host, port, options.signal);
  return new Promise((resolve, reject) => {
    // Not net.connect's own `signal`: that one would still destroy the socket when the dial's
    // deadline passes, long after the connection was made.
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    const { signal } = options;
    const fail = (err: Error): void => {
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(Object.assign(new Error("aborted"), { code: "ABORT_ERR" }));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", fail);
    socket.once("connect", () => {
      signal?.removeEventListener("abort", onAbort);
      socket.removeListener("error", fail);
      resolve(socket);
    });
  });
}

/** What a TLS client checks the server's name against: SNI carries names only; an address is checked against the IP SAN. */
export function serverName(host: string, servername?: string): string | undefined {
  return servername ?? (net.isIP(host) === 0 ? host : undefined);
}

/**
 * A TLS connection to the server (TCP direct or through the proxy), its certificate checked
 * here so that a chain from another CA is named: the issuer seen, and what to ask for.
 * Resolves once the handshake is done and trusted.
 *
 * When that path is blocked (no ALPN agreed, a foreign chain, a TLS handshake cut: a proxy
 * that passes only HTTP/1.1, or a reverse proxy terminating TLS), the same TLS session is run
 * inside the WebSocket transport instead; a server reached that way is reached that way first
 * next time. When both fail, the first path's error is the one reported.
 */
export async function dialTls(options: DialOptions): Promise<tls.TLSSocket> {
  const where = `${options.host}:${options.port}`;
  const transport = options.transport ?? "auto";
  if (transport === "websocket" || (transport === "auto" && viaWebSocket.has(where))) {
    try {
      return await dialWebSocket(options);
    } catch (err) {
      if (transport === "websocket") throw err;
      viaWebSocket.delete(where);
    }
  }
  let first: unknown;
  try {
    const socket = await dialDirect(options);
    if (transport === "tls" || options.alpn.includes(String(socket.alpnProtocol))) return socket;
    socket.destroy();
    first = new FernlinkError(
      "server-unreachable",
      `${options.label ?? where} answered TLS without ${options.alpn.join(" or ")}: something on the way terminates TLS, ` +
        `and the WebSocket transport did not get through either`,
    );
  } catch (err) {
    if (transport === "tls" || !pathBlocked(err)) throw err;
    first = err;
  }
  // A server where the transport failed lately is not asked again yet: a relay refusing handshakes
  // because it is busy must not get a second one per retry from every agent.
  const failedAt = webSocketFailedAt.get(where);
  if (failedAt !== undefined && Date.now() - failedAt < WEBSOCKET_RETRY_MS) throw first;
  try {
    const socket = await dialWebSocket(options);
    viaWebSocket.add(where);
    webSocketFailedAt.delete(where);
    return socket;
  } catch {
    webSocketFailedAt.set(where, Date.now());
    throw first;
  }
}

/** Servers last reached through the WebSocket transport ("host:port"). */
const viaWebSocket = new Set<string>();
/** When the WebSocket transport last failed, per server ("host:port"); tried again after WEBSOCKET_RETRY_MS. */
const webSocketFailedAt = new Map<string, number>();
const WEBSOCKET_RETRY_MS = 5 * 60_000;

/**
 * True when this process last reached `host:port` through the WebSocket transport: a path where
 * only that gets through, so extra connections of its own (lanes) are not worth a try there.
 */
export function reachedViaWebSocket(host: string, port: number): boolean {
  return viaWebSocket.has(`${host}:${port}`);
}

/** Failures that say the direct TLS path is blocked on the way, not that the server is down or refused us. */
function pathBlocked(err: unknown): boolean {
  if (err instanceof FernlinkError) return err.code === "certificate-untrusted" && FOREIGN_CHAIN.has(String((err.cause as NodeJS.ErrnoException)?.code));
  const code = (err as NodeJS.ErrnoException).code;
  // The no_application_protocol alert is what nginx (1.21.4 on) answers an ALPN it does not serve,
  // and also what a busy Fernlink relay answers on purpose (see tunnel-connection.ts): a server
  // where the transport then failed is not asked again for WEBSOCKET_RETRY_MS, so a busy relay
  // gets at most one more handshake per agent in that time.
  return (err as { [CUT]?: boolean })[CUT] === true || code === "ECONNRESET" || code === "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL";
}

/** Marks a handshake the other side cut. */
const CUT = Symbol("handshake cut");

/** TLS straight over TCP (through the proxy when one is set). */
async function dialDirect(options: DialOptions): Promise<tls.TLSSocket> {
  const label = options.label ?? `${options.host}:${options.port}`;
  const signal = deadline(options);
  const tcp = await connectTcp(options, signal);
  return handshake(tcp, options, label, signal);
}

/** TLS inside the WebSocket transport: TCP (through the proxy), an outer TLS speaking HTTP/1.1, the upgrade, then our TLS. */
async function dialWebSocket(options: DialOptions): Promise<tls.TLSSocket> {
  const label = options.label ?? `${options.host}:${options.port}`;
  const signal = deadline(options);
  const tcp = await connectTcp(options, signal);
  const outerCa = outerTrust(typeof options.ca === "string" ? options.ca : options.ca?.[0]);
  const outer = await handshake(
    tcp,
    { host: options.host, port: options.port, servername: options.servername, ca: outerCa, alpn: ["http/1.1"] },
    label,
    signal,
  );
  const stream = await openTransportStream(outer, options, signal);
  return handshake(stream, options, label, signal);
}

/** The dial's deadline, joined with the caller's signal. */
function deadline(options: DialOptions): AbortSignal {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
  return options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
}

async function connectTcp(options: DialOptions, signal: AbortSignal): Promise<net.Socket> {
  return dialTcp(options.host, options.port, { ...(options.proxy !== undefined ? { proxy: options.proxy } : {}), signal }).catch(
    (err: NodeJS.ErrnoException) => {
      if (err instanceof FernlinkError) throw err;
      throw timedOut(err, signal) ?? err;
    },
  );
}

/** Runs the TLS handshake on a connected stream (a socket, or the WebSocket transport's byte stream) and checks the chain. */
export function handshake(transport: net.Socket | Duplex, options: DialOptions, label: string, signal: AbortSignal): Promise<tls.TLSSocket> {
  const servername = serverName(options.host, options.servername);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      socket: transport,
      host: options.host,
      ...(servername ? { servername } : {}),
      secureContext: secureContextFor(options),
      ALPNProtocols: [...options.alpn],
      rejectUnauthorized: false,
    });
    const onAbort = (): void => fail(timedOut(Object.assign(new Error("aborted"), { code: "ABORT_ERR" }), signal) ?? new Error("aborted"));
    const fail = (err: Error): void => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      transport.destroy();
      reject(err);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("error", fail);
    socket.once("close", () => fail(Object.assign(new Error("the server closed the connection before TLS finished"), { [CUT]: true })));
    socket.once("secureConnect", () => {
      if (!socket.authorized) {
        const code = String(socket.authorizationError);
        return fail(untrustedChain(code, socket, options, label));
      }
      signal.removeEventListener("abort", onAbort);
      socket.removeListener("error", fail);
      socket.removeAllListeners("close");
      resolve(socket);
    });
  });
}

/** The timeout's own error when the deadline (not the caller) aborted. */
function timedOut(err: NodeJS.ErrnoException, signal: AbortSignal): Error | undefined {
  if (!signal.aborted) return undefined;
  const reason = signal.reason as Error | undefined;
  if (reason?.name === "TimeoutError") return Object.assign(new Error("timed out"), { code: "ETIMEDOUT", cause: err });
  return reason ?? err;
}

/** Codes of a chain that does not lead to the CA given. */
const FOREIGN_CHAIN = new Set(["SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_SIGNATURE_FAILURE"]);

/**
 * Why the server's chain is not trusted, in one line. A chain from another CA than ours is how
 * TLS inspection (a plant firewall re-signing every connection) looks from here: the line names
 * the issuer seen, so IT can recognise their own inspection CA and exempt the server's name.
 */
function untrustedChain(code: string, socket: tls.TLSSocket, options: DialOptions, label: string): FernlinkError {
  const issuer = issuerOf(socket);
  const cause = Object.assign(new Error(code), { code });
  if (options.ca !== undefined && FOREIGN_CHAIN.has(code)) {
    const ours = caSubject(typeof options.ca === "string" ? options.ca : (options.ca[0] ?? ""));
    const seen = ours === issuer ? `another CA named "${issuer}"` : `"${issuer}"`;
    return new FernlinkError(
      "certificate-untrusted",
      `the certificate of ${label} was issued by ${seen}, not by the CA given${ours && ours !== issuer ? ` ("${ours}")` : ""} (${code}): ` +
        `if the plant inspects TLS, ask its IT for an exception for ${options.host}; otherwise pass this server's own ca.pem with --ca FILE or FERNLINK_CA`,
      { cause },
    );
  }
  return new FernlinkError(
    "certificate-untrusted",
    `the certificate of ${label} is not trusted (${code}, issued by "${issuer}"); pass the server's CA with --ca FILE or FERNLINK_CA`,
    { cause },
  );
}

/** The issuer of the server's certificate as "CN=…, O=…". */
function issuerOf(socket: tls.TLSSocket): string {
  const cert = socket.getPeerCertificate();
  const issuer = cert?.issuer as unknown as Record<string, string | string[]> | undefined;
  if (!issuer || Object.keys(issuer).length === 0) return "unknown";
  return Object.entries(issuer)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : v}`)
    .join(", ");
}

/** The subject of the first certificate of a CA PEM, as "CN=…, O=…". */
function caSubject(pem: string): string | undefined {
  try {
    return new X509Certificate(pem).subject.split("\n").join(", ");
  } catch {
    return undefined;
  }
}
