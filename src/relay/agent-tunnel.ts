import { EventEmitter } from "node:events";
import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import { FernlinkError } from "../protocol/errors.js";
import { LANE_HEADER } from "../protocol/lane.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { AGENT_MOVE_PATH } from "../protocol/relay-link.js";
import type { HostPort } from "../protocol/target.js";
import { formatHostPort } from "../protocol/target.js";
import { MovableStream } from "../shared/movable-stream.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { endsOf } from "../shared/stream-cancel.js";
import { openConnectStream, type StreamMeta } from "./connect-stream.js";
import type { LaneBoard } from "./lane-board.js";

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
  /** The lanes carrying this tunnel's streams: they end with it, as its own streams would. */
  private readonly lanes = new Set<Duplex>();

  constructor(
    readonly identity: AgentIdentity,
    readonly address: string,
    private readonly session: ClientHttp2Session,
    now: Date,
    private readonly laneBoard?: LaneBoard,
  ) {
    super();
    this.connectedAt = now;
    session.once("close", () => {
      this.closed = true;
      // An agent that moved lets its open streams finish on the old relay; any other end of the tunnel ends them.
      if (!this.leaving) this.cutLanes();
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

  /**
   * Opens a stream to `target`; resolves once the agent has connected to it. A TCP stream is
   * offered a lane (protocol/lane.ts) when this relay takes lanes: the agent moves it there once
   * it carried enough. An older agent ignores the offer.
   */
  async openStream(target: HostPort, meta: StreamMeta): Promise<Duplex> {
    if (!this.isOpen) throw new FernlinkError("device-offline", `device "${this.identity.deviceName}" is offline`);
    const gone = (cause: Error): FernlinkError =>
      new FernlinkError("device-offline", `device "${this.identity.deviceName}" went away while opening ${formatHostPort(target)}`, { cause });
    const board = meta.protocol !== "udp" ? this.laneBoard : undefined;
    if (!board) return openConnectStream(this.session, this.resets, target, meta, { timeoutMs: OPEN_TIMEOUT_MS, gone });
    let movable: MovableStream | undefined;
    const offer = board.offer(this.identity.deviceId, (lane) => {
      if (!movable) return void lane.destroy();
      this.lanes.add(lane);
      lane.once("close", () => this.lanes.delete(lane));
      movable.moveTo(lane);
    });
    let stream: ClientHttp2Stream;
    try {
      stream = await openConnectStream(this.session, this.resets, target, meta, { timeoutMs: OPEN_TIMEOUT_MS, extra: { [LANE_HEADER]: offer.nonce }, gone });
    } catch (err) {
      offer.withdraw();
      throw err;
    }
    movable = new MovableStream(stream, endsOf(stream));
    movable.once("close", offer.withdraw);
    return movable;
  }

  private cutLanes(): void {
    for (const lane of this.lanes) lane.destroy();
    this.lanes.clear();
  }

  /** Ends the tunnel, e.g. when the device's certificate was revoked; its lanes are cut at once. */
  close(): void {
    this.cutLanes();
    if (this.closed) return;
    this.session.close();
    // A peer that does not finish its streams promptly is cut off.
    setTimeout(() => this.session.destroy(), 2000).unref();
  }

  /** Cuts the tunnel at once. */
  destroy(): void {
    this.cutLanes();
    this.session.destroy();
  }
}
