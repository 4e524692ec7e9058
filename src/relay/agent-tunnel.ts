import { EventEmitter } from "node:events";
import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import { FernlinkError } from "../shared/errors.js";
import { allowedTargetsHeader, connectHeaders, HEADER } from "../protocol/stream-headers.js";
import { awaitConnectAnswer } from "../shared/connect-answer.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { abortStream, openCancellable } from "../shared/stream-cancel.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import type { HostPort } from "../protocol/target.js";
import { formatHostPort } from "../protocol/target.js";

/** Metadata the relay passes to the agent with each stream: for its log, and the targets the access rules allow. */
export interface StreamMeta {
  streamId: string;
  user: string;
  /** Target-filter entries the agent checks the resolved target against; absent: its allowlist alone decides. */
  allowedTargets?: readonly string[];
}

/** How long the agent may take to answer a CONNECT (it dials the target meanwhile). */
const OPEN_TIMEOUT_MS = 15_000;

/**
 * One connected agent: the relay is the HTTP/2 client over the agent's TLS connection and
 * opens one CONNECT stream per user connection.
 */
export class AgentTunnel extends EventEmitter<{ close: [] }> {
  readonly connectedAt: Date;
  private closed = false;
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
  }

  /** True until the session has closed. */
  get isOpen(): boolean {
    return !this.closed && !this.session.closed && !this.session.destroyed;
  }

  /** Opens a stream to `target`; resolves once the agent has connected to it. */
  openStream(target: HostPort, meta: StreamMeta): Promise<ClientHttp2Stream> {
    const where = formatHostPort(target);
    if (!this.isOpen) {
      return Promise.reject(new FernlinkError("device-offline", `device "${this.identity.deviceName}" is offline`));
    }
    const extra: Record<string, string> = { [HEADER.streamId]: meta.streamId, [HEADER.user]: meta.user };
    if (meta.allowedTargets) extra[HEADER.allowedTargets] = allowedTargetsHeader(meta.allowedTargets);
    const stream = openCancellable(this.session, connectHeaders(target, extra), this.resets);
    return awaitConnectAnswer(
      stream,
      OPEN_TIMEOUT_MS,
      (failure) =>
        failure.kind === "timeout"
          ? new FernlinkError("target-timeout", `target ${where} did not answer within ${OPEN_TIMEOUT_MS / 1000} s`)
          : new FernlinkError("device-offline", `device "${this.identity.deviceName}" went away while opening ${where}`, { cause: failure.cause }),
      abortStream,
    );
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
