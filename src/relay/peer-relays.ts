import http2, { type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { isIP } from "node:net";
import tls from "node:tls";
import { ALPN } from "../protocol/alpn.js";
import { FernlinkError } from "../protocol/errors.js";
import { FORWARD_HEADER } from "../protocol/relay-link.js";
import type { HostPort } from "../protocol/target.js";
import type { Logger } from "../shared/log.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";
import { openConnectStream, type StreamMeta } from "./connect-stream.js";

/** Something a stream to a device can be opened on: the device's own tunnel, or the relay holding it. */
export interface StreamOpener {
  openStream(target: HostPort, meta: StreamMeta): Promise<ClientHttp2Stream>;
}

/** How this node proves itself to relays, and checks them. */
export interface PeerCredentials {
  keyPem: string;
  certPem: string;
  caPem: string;
}

/** The relay's answer plus the wait for the agent's dial. */
const OPEN_TIMEOUT_MS = 20_000;

/**
 * Connections from this access node to the relays holding devices it does not: one HTTP/2
 * session per relay URL (mutual TLS with the node certificate), on which each user stream is
 * one CONNECT carrying the device id and the grant's metadata. The relay trusts the node's
 * decision, as the agent trusts the relay's; the node keeps the user's end, so listing,
 * audit and cuts stay where the decision was made.
 */
export class PeerRelays {
  private readonly sessions = new Map<string, { session: ClientHttp2Session; resets: ResetBudget }>();

  constructor(
    private readonly credentials: PeerCredentials,
    private readonly log: Logger,
  ) {}

  /** A stream opener for `deviceId` on the relay at `url`. */
  opener(url: string, deviceId: string, deviceName: string): StreamOpener {
    return {
      openStream: (target, meta) => {
        const { session, resets } = this.session(url);
        return openConnectStream(session, resets, target, meta, {
          timeoutMs: OPEN_TIMEOUT_MS,
          extra: { [FORWARD_HEADER.deviceId]: deviceId },
          gone: (cause) =>
            new FernlinkError("device-offline", `device "${deviceName}" is on relay ${url}, which cannot be reached (${cause.message})`, { cause }),
        });
      },
    };
  }

  private session(url: string): { session: ClientHttp2Session; resets: ResetBudget } {
    const known = this.sessions.get(url);
    if (known && !known.session.closed && !known.session.destroyed) return known;
    const { hostname, port } = new URL(url);
    const host = hostname.replace(/^\[|\]$/g, "");
    const session = http2.connect(url, {
      ...TUNNEL_SESSION_OPTIONS,
      createConnection: () => {
        const socket = tls.connect({
          host,
          port: Number(port || 443),
          ...(isIP(host) === 0 ? { servername: host } : {}),
          key: this.credentials.keyPem,
          cert: this.credentials.certPem,
          ca: this.credentials.caPem,
          ALPNProtocols: [ALPN.h2],
        });
        socket.setNoDelay(true);
        return socket;
      },
    });
    readyTunnelSession(session, (err) => this.log.debug("relay connection error", { relay: url, error: err.message }));
    const entry = { session, resets: new ResetBudget() };
    this.sessions.set(url, entry);
    session.once("close", () => {
      if (this.sessions.get(url) === entry) this.sessions.delete(url);
    });
    return entry;
  }

  /** Closes every relay connection. */
  close(): void {
    for (const { session } of this.sessions.values()) session.destroy();
    this.sessions.clear();
  }
}
