import { Duplex } from "node:stream";

/**
 * One end of an in-memory pipe. Besides being a Duplex it answers the socket calls that
 * `http.Agent` and `tls.connect` make on a connection (`setKeepAlive`, `ref`, …) so it can
 * stand in for a TCP socket.
 */
export class PairEnd extends Duplex {
  peer!: PairEnd;
  /** The write waiting for the peer to read, when its buffer was full. */
  private pendingWrite: (() => void) | undefined;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  override _read(): void {
    const resume = this.peer.pendingWrite;
    this.peer.pendingWrite = undefined;
    resume?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.touch();
    this.peer.touch();
    if (this.peer.push(chunk)) callback();
    else this.pendingWrite = () => callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pendingWrite = undefined;
    clearTimeout(this.idleTimer);
    // Cut short, the peer goes too, without our error: its owner learns of it from "close".
    // After a clean end both ways the peer may still hold unread bytes: it ends by itself.
    const clean = this.writableFinished && this.readableEnded;
    if (!clean && !this.peer.destroyed) this.peer.destroy();
    callback(error);
  }

  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  /** Like `net.Socket#setTimeout`: "timeout" after `ms` without bytes either way (0 turns it off); the end stays open. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    if (onTimeout) this.once("timeout", onTimeout);
    this.idleMs = ms;
    this.touch();
    return this;
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    if (this.idleMs <= 0 || this.destroyed) return;
    this.idleTimer = setTimeout(() => this.emit("timeout"), this.idleMs);
    this.idleTimer.unref();
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** Two connected in-memory duplex ends with backpressure and half-close: what one writes, the other reads. */
export function duplexPair(): [PairEnd, PairEnd] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
