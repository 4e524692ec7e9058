import { Duplex } from "node:stream";
import { FrameReader, frameHeader, MOVED_HEADER } from "../protocol/lane.js";
import { STREAM_BUFFER_BYTES } from "./stream-buffer.js";

/** How a side ends its sending on the HTTP/2 stream, and gives the stream up. */
export interface StreamEnds {
  /** Ends this side's half; `moved`: with the trailer that says the rest follows on the lane. */
  end(moved: boolean): void;
  /** Gives the stream up after a failure (a cancel or a reset, as its role allows). */
  abort(): void;
}

/** When the stream asks for a lane: after `bytes` carried, both directions counted. */
export interface MoveTrigger {
  bytes: number;
  /** Called once; its lane, if one comes, is handed to `moveTo`. */
  wanted: () => void;
}

/**
 * A stream that starts on an HTTP/2 stream and can move to a lane of its own (protocol/lane.ts)
 * while it runs, without losing or reordering a byte. Each direction moves on its own: the
 * sender ends its HTTP/2 half with the `fernlink-moved` trailer and goes on on the lane, in
 * frames; the receiver reads the HTTP/2 stream to that end, then the lane's frames. So a stream
 * opens at no cost on the shared connection, and a bulk one gets a TCP connection to itself, out
 * of the other streams' way. Whoever joins it sees one Duplex throughout; its counts go on
 * across the move.
 */
export class MovableStream extends Duplex {
  private lane: Duplex | undefined;
  private sendingOnLane = false;
  private readingLane = false;
  /** The HTTP/2 half towards us was read to its end. */
  private h2ReadDone = false;
  /** ... and its end was taken for what it is: with the moved trailer, the rest comes on the lane. */
  private h2Ended = false;
  private movedMarkSeen = false;
  /** The lane's direction towards us, split back into payload and its end frame. */
  private readonly frames = new FrameReader();
  private listeningToLane = false;
  /** Our direction's end frame is written on the lane. */
  private laneEndSent = false;
  /** The lane went before either direction used it. */
  private laneLost = false;
  /** The write waiting for the current carrier to drain. */
  private pendingWrite: (() => void) | undefined;
  private carried = 0;

  constructor(
    readonly h2: Duplex,
    private readonly ends: StreamEnds,
    private readonly trigger?: MoveTrigger,
  ) {
    super({ allowHalfOpen: true, highWaterMark: STREAM_BUFFER_BYTES });
    h2.on("data", this.deliverFromH2);
    h2.on("trailers", (headers: Record<string, unknown>) => {
      if (headers[MOVED_HEADER] !== undefined) this.movedMarkSeen = true;
    });
    // Node may emit "end" before the "trailers" that came in the same frame (both are queued on
    // the tick queue, "end" first when nothing was buffered): the end is read once both are out.
    h2.once("end", () => {
      this.h2ReadDone = true;
      setImmediate(() => {
        this.h2Ended = true;
        if (this.movedMarkSeen) return void (this.lane && this.readFromLane());
        this.push(null);
        // Only the end frame comes our way on a lane now: read it, so that the lane can close.
        if (this.lane) this.listenToLane();
      });
    });
    h2.on("drain", this.writeDrained);
    h2.on("error", (err: Error) => {
      if (!this.doneWithH2()) this.destroy(err);
    });
    h2.once("close", () => {
      if (!this.doneWithH2() && !this.destroyed) this.destroy(new Error("the stream closed before its end"));
    });
    h2.pause();
  }

  /** True once nothing more is read from or written to the HTTP/2 stream. */
  private doneWithH2(): boolean {
    return this.h2ReadDone && (this.sendingOnLane || this.writableFinished);
  }

  /** True after `moveTo`. */
  get moved(): boolean {
    return this.lane !== undefined;
  }

  private readonly deliverFromH2 = (chunk: Buffer): void => this.deliver(chunk, this.h2);

  private deliver(chunk: Buffer, from: Duplex): void {
    this.count(chunk.length);
    if (!this.push(chunk)) from.pause();
  }

  private count(bytes: number): void {
    const before = this.carried;
    this.carried += bytes;
    const trigger = this.trigger;
    if (trigger && before < trigger.bytes && this.carried >= trigger.bytes) setImmediate(trigger.wanted);
  }

  private readonly writeDrained = (): void => {
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    pending?.();
  };

  /**
   * Carries the rest of the stream on `lane`: from now on this side sends there (its HTTP/2
   * half ends with the moved trailer, or the lane's at once when this side had already
   * finished sending), and reads there once the peer's HTTP/2 half ended with that trailer.
   */
  moveTo(lane: Duplex): void {
    // A lane that came after the stream ended cleanly is closed as an empty one: the peer may
    // have taken it already, and a cut lane would read as a cut stream there.
    if (!this.lane && this.destroyed && this.readableEnded && this.writableFinished) return void retire(lane);
    if (this.lane || this.destroyed) return void lane.destroy();
    this.lane = lane;
    lane.on("error", (err: Error) => this.laneFailed(err));
    // Closed before both end frames were through: the lane is lost.
    lane.once("close", () => {
      if (!this.destroyed && !(this.laneEndSent && this.frames.done)) this.laneFailed(new Error("the lane closed before the stream's end"));
    });
    lane.on("drain", this.writeDrained);
    lane.once("end", () => {
      if (!this.frames.done) this.laneFailed(new Error("the lane ended before the stream's end"));
    });
    lane.pause();
    if (this.writableEnded) {
      // Everything this side sends went on the HTTP/2 stream (or is queued there): its lane direction is empty.
      this.endLaneDirection();
    } else {
      this.sendingOnLane = true;
      this.ends.end(true);
      this.writeDrained();
    }
    if (this.h2Ended && this.movedMarkSeen) this.readFromLane();
    else if (this.h2Ended) this.listenToLane();
  }

  /**
   * A lost lane cuts the stream when a direction went onto it. One that carried neither (its
   * peer's side ended on HTTP/2 both ways and dropped it) is let go: the stream ends on HTTP/2.
   */
  private laneFailed(err: Error): void {
    if (this.sendingOnLane || this.movedMarkSeen) return void this.destroy(err);
    this.laneLost = true;
    this.lane?.destroy();
  }

  private readFromLane(): void {
    if (this.laneLost) return void this.destroy(new Error("the lane was lost before the stream moved to it"));
    if (this.readingLane) return;
    this.readingLane = true;
    this.listenToLane();
  }

  /** Reads the lane's frames: payload for our reader once the HTTP/2 half ended moved, and the end frame. */
  private listenToLane(): void {
    const lane = this.lane;
    if (!lane || this.listeningToLane) return;
    this.listeningToLane = true;
    const payload = (piece: Buffer): void => {
      if (this.readingLane) this.deliver(piece, lane);
      else this.destroy(new Error("the lane carried bytes for a direction that had ended"));
    };
    const ended = (): void => {
      if (this.readingLane) this.push(null);
      this.closeLaneIfDone();
    };
    lane.on("data", (chunk: Buffer) => {
      try {
        this.frames.feed(chunk, payload, ended);
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    lane.resume();
  }

  private endLaneDirection(): void {
    this.lane!.write(frameHeader(0));
    this.laneEndSent = true;
    this.closeLaneIfDone();
  }

  /** Both directions' end frames are through: nothing is left unread, so TLS may close. */
  private closeLaneIfDone(): void {
    if (this.laneEndSent && this.frames.done) this.lane!.end();
  }

  /**
   * Writes one frame on the lane; false when it must drain first. A lane socket's own
   * highWaterMark is Node's 16 KiB (the relay's comes from its TLS server): writing on to
   * STREAM_BUFFER_BYTES lets the next write carry all that queued meanwhile. Past 16 KiB a write
   * has returned false, so the lane emits "drain" once it is empty.
   */
  private writeFrame(lane: Duplex, chunk: Buffer): boolean {
    lane.write(frameHeader(chunk.length));
    lane.write(chunk);
    return lane.writableLength < STREAM_BUFFER_BYTES;
  }

  override _read(): void {
    (this.readingLane ? this.lane! : this.h2).resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk, encoding }], callback);
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: (error?: Error | null) => void): void {
    const lane = this.sendingOnLane ? this.lane! : undefined;
    const carrier = lane ?? this.h2;
    let room = true;
    carrier.cork();
    for (const { chunk } of chunks) {
      this.count(chunk.length);
      room = lane ? this.writeFrame(lane, chunk) : carrier.write(chunk);
    }
    carrier.uncork();
    if (room) callback();
    else this.pendingWrite = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.sendingOnLane) this.endLaneDirection();
    else this.ends.end(false);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pendingWrite = undefined;
    const clean = this.readableEnded && this.writableFinished;
    if (!clean) {
      if (!this.doneWithH2()) this.ends.abort();
      this.lane?.destroy();
    }
    callback(error);
  }
}

/** How long a lane that came too late waits for its peer's end frame before it is cut. */
const RETIRE_MS = 10_000;

/** Ends a lane whose stream had ended on HTTP/2 both ways: an end frame each way, then TLS closes. */
function retire(lane: Duplex): void {
  const frames = new FrameReader();
  const timer = setTimeout(() => lane.destroy(), RETIRE_MS);
  timer.unref();
  lane.once("close", () => clearTimeout(timer));
  lane.on("error", () => {});
  lane.on("data", (chunk: Buffer) => {
    try {
      frames.feed(
        chunk,
        () => lane.destroy(),
        () => lane.end(),
      );
    } catch {
      lane.destroy();
    }
  });
  lane.write(frameHeader(0));
  lane.resume();
}
