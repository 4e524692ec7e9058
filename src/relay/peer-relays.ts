import http2, { type ClientHttp2Session } from "node:http2";
import type { Duplex } from "node:stream";
import { ALPN } from "../protocol/alpn.js";
import { FernlinkError } from "../protocol/errors.js";
import { FORWARD_HEADER } from "../protocol/relay-link.js";
import type { HostPort } from "../protocol/target.js";
import type { Logger } from "../shared/log.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { dialTls } from "../shared/server-dialer.js";
import { readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";
import { openConnectStream, type StreamMeta } from "./connect-stream.js";

/** Something a stream to a device can be opened on: the device's own tunnel, or the relay holding it. */
export interface StreamOpener {
  openStream(target: HostPort, meta: StreamMeta): Promise<Duplex>;
  /** The relay it opens streams on (its URL), when that is another process. */
  readonly at?: string;
}

/** How this node proves itself to relays, and checks them. */
export interface PeerCredentials {
  keyPem: string;
  certPem: string;
  caPem: string;
}

/** The relay's answer plus the wait for the agent's dial. */
const OPEN_TIMEOUT_MS = 20_000;

/** One relay's HTTP/2 session, once its connection is made. */
interface PeerSession {
  session: ClientHttp2Session;
  resets: ResetBudget;
}

/** A relay's session in the making or made; `gone` once it closed or its dial failed. */
interface PeerEntry {
  ready: Promise<PeerSession>;
  session: ClientHttp2Session | undefined;
  gone: boolean;
}

/**
 * Connections from this access node to the relays holding devices it does not: one HTTP/2
 * session per relay URL (mutual TLS with the node certificate), on which each user stream is
 * one CONNECT carrying the device id and the grant's metadata. The relay trusts the node's
 * decision, as the agent trusts the relay's; the node keeps the user's end, so listing,
 * audit and cuts stay where the decision was made. Made by the one dialer, so a relay behind
 * a reverse proxy that passes only HTTP/1.1 is reached through the WebSocket transport.
 */
export class PeerRelays {
  private readonly sessions = new Map<string, PeerEntry>();
  private readonly closing = new AbortController();

  constructor(
    private readonly credentials: PeerCredentials,
    private readonly log: Logger,
  ) {}

  /** A stream opener for `deviceId` on the relay at `url`. */
  opener(url: string, deviceId: string, deviceName: string): StreamOpener {
    const gone = (cause: Error): FernlinkError =>
      new FernlinkError("device-offline", `device "${deviceName}" is on relay ${url}, which cannot be reached (${cause.message})`, { cause });
    return {
      at: url,
      openStream: async (target, meta) => {
        const { session, resets } = await this.session(url).catch((err: unknown) => {
          throw gone(err instanceof Error ? err : new Error(String(err)));
        });
        return openConnectStream(session, resets, target, meta, { timeoutMs: OPEN_TIMEOUT_MS, extra: { [FORWARD_HEADER.deviceId]: deviceId }, gone });
      },
    };
  }

  private session(url: string): Promise<PeerSession> {
    const known = this.sessions.get(url);
    if (known && !known.gone && !known.session?.closed && !known.session?.destroyed) return known.ready;
    const drop = (): void => {
      entry.gone = true;
      if (this.sessions.get(url) === entry) this.sessions.delete(url);
    };
    const entry: PeerEntry = {
      ready: this.connect(url).then(
        (session) => {
          entry.session = session;
          session.once("close", drop);
          return { session, resets: new ResetBudget() };
        },
        (err: unknown) => {
          drop();
          throw err;
        },
      ),
      session: undefined,
      gone: false,
    };
    this.sessions.set(url, entry);
    return entry.ready;
  }

  private async connect(url: string): Promise<ClientHttp2Session> {
    const { hostname, port } = new URL(url);
    const socket = await dialTls({
      host: hostname.replace(/^\[|\]$/g, ""),
      port: Number(port || 443),
      key: this.credentials.keyPem,
      cert: this.credentials.certPem,
      ca: this.credentials.caPem,
      alpn: [ALPN.h2],
      label: `relay ${url}`,
      signal: this.closing.signal,
    });
    if (this.closing.signal.aborted) {
      socket.destroy();
      throw new Error("closed");
    }
    socket.setNoDelay(true);
    const session = http2.connect(url, { ...TUNNEL_SESSION_OPTIONS, createConnection: () => socket });
    readyTunnelSession(session, (err) => this.log.debug("relay connection error", { relay: url, error: err.message }));
    return session;
  }

  /** Closes every relay connection, and the ones being made. */
  close(): void {
    this.closing.abort();
    for (const { session } of this.sessions.values()) session?.destroy();
    this.sessions.clear();
  }
}
