import { EventEmitter } from "node:events";
import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import { FernlinkError } from "../protocol/errors.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { AGENT_MOVE_PATH } from "../protocol/relay-link.js";
import type { HostPort } from "../protocol/target.js";
import { formatHostPort } from "../protocol/target.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { openConnectStream, type StreamMeta } from "./connect-stream.js";

export type { StreamMeta } from "./connect-stream.js";

/** How long the agent may take to answer a CONNECT (it dials the target meanwhile). */
const OPEN_TIMEOUT_MS = 15_000;

/**
 * One connected agent: the relay is the HTTP/2 client over the agent's TLS connection and
 * opens one CONNECT stream per user connection.
 */
export class AgentTunnel extends EventEmitter<{ close: []; leaving: [] }> {
  readonly connectedAt: Date;
  private closed = false;
  /** The agent said it is leaving (GOAWAY, after it moved to another relay): no new streams here. */
  private leaving = false;
  /**
   * The resets this relay may still send on the tunnel without the agent ending it: streams
   * opened here are given up with `abortStream`, never with `close()` or `destroy()`.
   */
  private readonly resets = new ResetBudget();

  constructor(
    readonly identity: AgentIdentity,
    readonly address: string,
    private readonly session: ClientHttp2Session,
    now: Date,
  ) {
    super();
    this.connectedAt = now;
    session.once("close", () => {
      this.closed = true;
      this.emit("close");
    });
    session.once("goaway", () => {
      this.leaving = true;
      if (!this.closed) this.emit("leaving");
    });
  }

  /** True until the session has closed. */
  get isOpen(): boolean {
    return !this.closed && !this.leaving && !this.session.closed && !this.session.destroyed;
  }

  /**
   * Asks the agent to move to another relay (this one is draining): it connects elsewhere and
   * then ends this tunnel with a GOAWAY, letting its open streams finish.
   */
  requestMove(): void {
    if (!this.isOpen) return;
    try {
      const request = this.session.request({ ":method": "POST", ":path": AGENT_MOVE_PATH }, { endStream: true });
      request.on("error", () => {});
      request.resume();
    } catch {
      // The session is closing anyway.
    }
  }

  /** Opens a stream to `target`; resolves once the agent has connected to it. */
  openStream(target: HostPort, meta: StreamMeta): Promise<ClientHttp2Stream> {
    if (!this.isOpen) {
      return Promise.reject(new FernlinkError("device-offline", `device "${this.identity.deviceName}" is offline`));
    }
    return openConnectStream(this.session, this.resets, target, meta, {
      timeoutMs: OPEN_TIMEOUT_MS,
      gone: (cause) => new FernlinkError("device-offline", `device "${this.identity.deviceName}" went away while opening ${formatHostPort(target)}`, { cause }),
    });
  }

  /** Ends the tunnel, e.g. when the device's certificate was revoked. */
  close(): void {
    if (this.closed) return;
    this.session.close();
    // A peer that does not finish its streams promptly is cut off.
    setTimeout(() => this.session.destroy(), 2000).unref();
  }

  /** Cuts the tunnel at once. */
  destroy(): void {
    this.session.destroy();
  }
}
