import http2, { type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { ALPN } from "../protocol/alpn.js";
import { connectHeaders, HEADER } from "../protocol/stream-headers.js";
import type { HostPort } from "../protocol/target.js";
import { awaitConnectAnswer } from "../shared/connect-answer.js";
import { readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";
import { FernlinkError } from "../protocol/errors.js";
import { networkError } from "../shared/https-json.js";
import { startKeepalive } from "../shared/keepalive.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { abortStream, openCancellable } from "../shared/stream-cancel.js";

/** Longer than the relay's own 15 s wait for the agent, so the relay's answer arrives first. */
const OPEN_TIMEOUT_MS = 20_000;

/** Where the client's streams go and with which credentials. */
export interface TunnelClientOptions {
  server: string;
  ca: string | undefined;
  token: string;
  device: string;
}

/**
 * The client's one HTTP/2 connection to the server, carrying all its streams. Reconnects
 * lazily: a stream opened after the connection dropped opens a new one.
 */
export class TunnelClient {
  private session: ClientHttp2Session | undefined;
  /** Resets the server still takes on the current connection (streams are given up with `abortStream`). */
  private resets = new ResetBudget();
  /** The socket-level reason the last connection failed; streams only see "cancelled". */
  private sessionError: Error | undefined;

  constructor(private readonly options: TunnelClientOptions) {}

  private connect(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(this.options.server, {
      ...(this.options.ca ? { ca: this.options.ca } : {}),
      ALPNProtocols: [ALPN.h2],
      ...TUNNEL_SESSION_OPTIONS,
    });
    this.sessionError = undefined;
    this.resets = new ResetBudget();
    readyTunnelSession(session, (err) => (this.sessionError = err));
    session.once("connect", () => startKeepalive(session));
    session.once("close", () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }

  /** Opens a stream to `target` in the device LAN; resolves once the agent reached it. */
  open(target: HostPort): Promise<ClientHttp2Stream> {
    const session = this.connect();
    const stream = openCancellable(
      session,
      connectHeaders(target, { [HEADER.device]: this.options.device, authorization: `Bearer ${this.options.token}` }),
      this.resets,
    );
    return awaitConnectAnswer(
      stream,
      OPEN_TIMEOUT_MS,
      (failure) => {
        if (failure.kind === "timeout") return new FernlinkError("target-timeout", `no answer from ${this.options.server} within ${OPEN_TIMEOUT_MS / 1000} s`);
        const err = this.sessionError ?? failure.cause;
        const cause = (err as NodeJS.ErrnoException).code ? networkError(err as NodeJS.ErrnoException, this.options.server, this.options.ca !== undefined) : err;
        return cause instanceof FernlinkError ? cause : new FernlinkError("server-unreachable", `lost the connection to ${this.options.server}`, { cause });
      },
      abortStream,
    );
  }

  /** Closes the connection; open streams are cut. */
  close(): void {
    this.session?.destroy();
    this.session = undefined;
  }
}
