import http2, { type ClientHttp2Session } from "node:http2";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { TLSSocket } from "node:tls";
import { ALPN } from "../protocol/alpn.js";
import { encodeReasonHeader } from "../protocol/connect-reason.js";
import { FernlinkError } from "../protocol/errors.js";
import { LANE_HEADER, LANE_MOVE_BYTES, LANES_MAX, laneWorthIt } from "../protocol/lane.js";
import { connectHeaders, HEADER, protocolHeaders, readHeader, type StreamProtocol } from "../protocol/stream-headers.js";
import type { HostPort } from "../protocol/target.js";
import { awaitConnectAnswer } from "../shared/connect-answer.js";
import { networkError } from "../shared/https-json.js";
import { startKeepalive } from "../shared/keepalive.js";
import { dialLaneSocket, writeLaneMessage } from "../shared/lane-io.js";
import { MovableStream } from "../shared/movable-stream.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { dialTls, reachedViaWebSocket } from "../shared/server-dialer.js";
import { abortStream, endsOf, openCancellable } from "../shared/stream-cancel.js";
import { hopRoundTripMs, readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";

/** Longer than the relay's own 15 s wait for the agent, so the relay's answer arrives first. */
const OPEN_TIMEOUT_MS = 20_000;
/** While the server is unreachable: the first retry of the connection, doubled up to the last. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 8_000;

/** The connection to the server was lost ("down", with why) or is back ("up"). */
export type TunnelStatus = { state: "down"; reason: string } | { state: "up" };

/** Where the client's streams go and with which credentials. */
export interface TunnelClientOptions {
  server: string;
  ca: string | undefined;
  token: string;
  device: string;
  /** Told once per outage, and once when the connection is back. */
  onStatus?: (status: TunnelStatus) => void;
  /** The connect reason sent with every stream (validated, connect-reason.ts). */
  reason?: string;
  /** Told of each stream the relay answered as recorded (its bytes kept for the account's admins). */
  onRecorded?: (target: HostPort) => void;
  /** False: every TCP stream rides the one connection too, as UDP streams always do (default: lanes). */
  lanes?: boolean;
}

/**
 * The client's one HTTP/2 connection to the server, carrying all its streams. A lost connection
 * is made again in the background, with backoff, and a stream opened meanwhile waits for it
 * (within its open deadline) instead of failing at once.
 */
export class TunnelClient {
  private session: ClientHttp2Session | undefined;
  /** Resets the server still takes on the current connection (streams are given up with `abortStream`). */
  private resets = new ResetBudget();
  /** The socket-level reason the last connection failed; streams only see "cancelled". */
  private sessionError: Error | undefined;
  private closed = false;
  private down = false;
  private retryMs = RETRY_FIRST_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The connection each open stream rides on, to tell a lost connection from a stream's own failure. */
  private readonly carriers = new WeakMap<Duplex, ClientHttp2Session>();
  private pending: Promise<ClientHttp2Session> | undefined;
  /** TCP streams move to lanes of their own; false once the server refused the lane ALPN (an older server). */
  private lanes: boolean;
  /** The lanes open now, and those being dialled (at most LANES_MAX together). */
  private readonly laneStreams = new Set<Duplex>();
  private lanesDialled = 0;

  constructor(private readonly options: TunnelClientOptions) {
    this.lanes = options.lanes !== false;
  }

  /** Opens the connection now (rather than with the first stream), so an outage is seen while idle. */
  start(): void {
    this.connect().catch(() => {});
  }

  /** The live session, or the one being made (dialled by the one dialer: through the proxy when one is set). */
  private connect(): Promise<ClientHttp2Session> {
    if (this.session && !this.session.closed && !this.session.destroyed) return Promise.resolve(this.session);
    this.pending ??= this.dial().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The server's host (without an IPv6 address's brackets) and port. */
  private serverAddress(): { host: string; port: number } {
    const url = new URL(this.options.server);
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || 443) };
  }

  private async dial(): Promise<ClientHttp2Session> {
    let socket: TLSSocket;
    try {
      socket = await dialTls({ ...this.serverAddress(), ca: this.options.ca, alpn: [ALPN.h2], label: this.options.server });
    } catch (err) {
      this.sessionError = err as Error;
      if (!this.closed) {
        this.markDown(shortReason(err));
        this.scheduleReconnect();
      }
      throw err;
    }
    if (this.closed) {
      socket.destroy();
      throw new FernlinkError("server-unreachable", `the connection to ${this.options.server} was closed`);
    }
    const session = http2.connect(this.options.server, { ...TUNNEL_SESSION_OPTIONS, createConnection: () => socket });
    this.sessionError = undefined;
    this.resets = new ResetBudget();
    readyTunnelSession(session, (err) => (this.sessionError = err));
    session.once("connect", () => {
      startKeepalive(session);
      this.retryMs = RETRY_FIRST_MS;
      if (this.down) {
        this.down = false;
        this.options.onStatus?.({ state: "up" });
      }
    });
    session.once("close", () => {
      if (this.session !== session) return;
      this.session = undefined;
      if (this.closed) return;
      const err = this.sessionError;
      if (err) this.markDown(shortReason(err));
      this.scheduleReconnect();
    });
    this.session = session;
    return session;
  }

  private markDown(reason: string): void {
    if (this.down) return;
    this.down = true;
    this.options.onStatus?.({ state: "down", reason });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    // A connection closed cleanly (server restart, idle close) is made again at once; failures back off.
    const delay = this.down ? this.retryMs : 0;
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed) this.connect().catch(() => {});
    }, delay);
  }

  /**
   * Opens a stream to `target` in the device LAN (TCP, or UDP datagrams); resolves once the agent
   * reached it. A TCP stream the relay offers a lane to moves there once it carried
   * LANE_MOVE_BYTES (protocol/lane.ts): a bulk transfer then neither waits behind nor holds up
   * the other streams.
   */
  async open(target: HostPort, protocol: StreamProtocol = "tcp"): Promise<Duplex> {
    const deadline = Date.now() + OPEN_TIMEOUT_MS;
    for (;;) {
      try {
        return await this.openOnce(target, protocol, Math.max(1, deadline - Date.now()));
      } catch (err) {
        const unreachable = err instanceof FernlinkError && err.code === "server-unreachable";
        if (!unreachable || this.closed || Date.now() + RETRY_FIRST_MS >= deadline) throw err;
        this.markDown(shortReason(err.cause ?? err));
        await sleep(RETRY_FIRST_MS);
      }
    }
  }

  /** Lanes go where TLS goes straight (through the proxy or not); where only the WebSocket transport gets through, streams stay on its one connection. */
  private lanesUsable(): boolean {
    if (!this.lanes) return false;
    const { host, port } = this.serverAddress();
    return !reachedViaWebSocket(host, port);
  }

  /**
   * Dials the lane the relay offered with `nonce` (protocol/lane.ts) and moves `stream` there.
   * A lane that cannot be had leaves the stream where it is; a server that refuses the lane ALPN
   * (it predates lanes) is not asked again.
   */
  private async moveToLane(stream: MovableStream, nonce: string): Promise<void> {
    if (!this.lanesUsable() || this.laneStreams.size + this.lanesDialled >= LANES_MAX) return;
    let socket: TLSSocket;
    this.lanesDialled++;
    try {
      socket = await dialLaneSocket({ ...this.serverAddress(), ca: this.options.ca, label: this.options.server });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL") this.lanes = false;
      return;
    } finally {
      this.lanesDialled--;
    }
    socket.on("error", () => {});
    if (this.closed || stream.destroyed) return void socket.destroy();
    writeLaneMessage(socket, { [LANE_HEADER]: nonce });
    this.laneStreams.add(socket);
    socket.once("close", () => this.laneStreams.delete(socket));
    stream.moveTo(socket);
  }

  private async openOnce(target: HostPort, protocol: StreamProtocol, timeoutMs: number): Promise<Duplex> {
    let session: ClientHttp2Session;
    try {
      session = await this.connect();
    } catch (err) {
      throw err instanceof FernlinkError ? err : connectionError(err, this.options.server, this.options.ca !== undefined);
    }
    const stream = openCancellable(
      session,
      connectHeaders(target, {
        [HEADER.device]: this.options.device,
        authorization: `Bearer ${this.options.token}`,
        ...protocolHeaders(protocol),
        ...(this.options.reason !== undefined ? { [HEADER.connectReason]: encodeReasonHeader(this.options.reason) } : {}),
      }),
      this.resets,
    );
    this.carriers.set(stream, session);
    let nonce: string | undefined;
    const answered = await awaitConnectAnswer(
      stream,
      timeoutMs,
      (failure) => {
        if (failure.kind === "timeout") return new FernlinkError("target-timeout", `no answer from ${this.options.server} within ${OPEN_TIMEOUT_MS / 1000} s`);
        const err = this.sessionError ?? failure.cause;
        return err instanceof FernlinkError ? err : connectionError(err, this.options.server, this.options.ca !== undefined);
      },
      abortStream,
      (headers) => {
        if (headers[HEADER.recorded] === "1") this.options.onRecorded?.(target);
        nonce = protocol === "tcp" ? readHeader(headers, LANE_HEADER) : undefined;
        return undefined;
      },
    );
    if (nonce === undefined || !this.lanes) return answered;
    const offered = nonce;
    const movable: MovableStream = new MovableStream(answered, endsOf(answered), {
      bytes: LANE_MOVE_BYTES,
      // Decided once the stream carried enough: by then the hop's round trip has been measured.
      wanted: () => {
        if (laneWorthIt(hopRoundTripMs(session))) void this.moveToLane(movable, offered);
      },
    });
    this.carriers.set(movable, session);
    return movable;
  }

  /**
   * The error to tell a user when an open stream failed: "lost the connection to SERVER" when its
   * connection went with it (the stream itself only says "Premature close"), else the stream's own.
   */
  streamFailure(stream: Duplex, err: Error): Error {
    if (err instanceof FernlinkError) return err;
    // A stream on its lane lost its own connection: whatever cut that cut the stream.
    if (stream instanceof MovableStream && stream.moved)
      return new FernlinkError("server-unreachable", `lost the connection to ${this.options.server}`, { cause: err });
    const session = this.carriers.get(stream);
    if (!session || !connectionGone(session)) return err;
    // The stream was carried, so the server was reachable: whatever the socket says, the connection was lost.
    return new FernlinkError("server-unreachable", `lost the connection to ${this.options.server}`, { cause: this.sessionError ?? err });
  }

  /** Closes the connection; open streams are cut. */
  close(): void {
    this.closed = true;
    for (const lane of this.laneStreams) lane.destroy();
    clearTimeout(this.retryTimer);
    this.session?.destroy();
    this.session = undefined;
  }
}

/** A lost or failed connection as the error a user can act on; HTTP/2's own codes (a stream cancelled as the connection went) say nothing to a user. */
function connectionError(err: unknown, server: string, caGiven: boolean): FernlinkError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && !code.startsWith("ERR_HTTP2")) return networkError(err as NodeJS.ErrnoException, server, caGiven);
  return new FernlinkError("server-unreachable", `lost the connection to ${server}`, { cause: err });
}

/**
 * True when a session's connection is gone. A peer that died ends the socket and nghttp2 closes
 * the streams before the session itself is marked closed, so the socket is asked too (it is
 * unbound, and asking throws, once the session is destroyed).
 */
function connectionGone(session: ClientHttp2Session): boolean {
  if (session.closed || session.destroyed) return true;
  try {
    return session.socket.destroyed || session.socket.readableEnded;
  } catch {
    return true;
  }
}

/** The short reason of an outage: the socket's code, or that the connection closed. */
function shortReason(err: unknown): string {
  if (err instanceof FernlinkError) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code && !code.startsWith("ERR_HTTP2") ? code : "connection closed";
}
