import { type Duplex, finished } from "node:stream";
import { abortStream } from "./stream-cancel.js";

/** Bytes carried by a joined pair and the first error that ended it, if any. */
export interface JoinResult {
  /** Bytes read from `a` and written to `b`. */
  bytesAtoB: number;
  /** Bytes read from `b` and written to `a`. */
  bytesBtoA: number;
  error: Error | undefined;
}

/**
 * Forwards everything `from` reads to `to`, with backpressure (a full `to` pauses `from`
 * until it drains) and half-close (the end of `from` ends `to`). The chunks read in one turn
 * of the event loop go out as one write: `to` is corked on the first and uncorked by
 * setImmediate, after every I/O callback of this turn. Not nextTick: Node runs the tick queue
 * after each callback from native code, and an HTTP/2 stream gets one callback per DATA piece
 * (a 16 KiB frame arrives as two pieces, split where TLS's 16 KiB reads end), so nextTick gave
 * one write per piece, half of them a few bytes (strace of the agent: 7.6 KB per write).
 * `count` hears every chunk's size. Returns a function that stops forwarding.
 */
function forward(from: Duplex, to: Duplex, count: (bytes: number) => void): () => void {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    to.uncork();
  };
  const onData = (chunk: Buffer): void => {
    count(chunk.length);
    if (!corked) {
      corked = true;
      to.cork();
      setImmediate(uncork);
    }
    if (!to.write(chunk)) from.pause();
  };
  const onDrain = (): void => void from.resume();
  const onEnd = (): void => void to.end();
  from.on("data", onData);
  from.once("end", onEnd);
  to.on("drain", onDrain);
  // As pipe() does: a reader someone paused (a handshake that left input buffered) flows now.
  if (to.writableNeedDrain) from.pause();
  else from.resume();
  return () => {
    from.removeListener("data", onData);
    from.removeListener("end", onEnd);
    to.removeListener("drain", onDrain);
  };
}

/**
 * Forwards two duplexes into each other with backpressure and half-close: the end of one
 * direction ends only that direction; an error on either side aborts both (`abortStream`).
 * `onDone` runs once, when both directions have finished or one has failed. The result
 * returned is the same object, counting while the bytes flow.
 *
 * Not `pipeline`: it destroys every stream on error, and an HTTP/2 stream this side opened
 * must be cancelled, not reset (`stream-cancel.ts`).
 */
export function joinStreams(a: Duplex, b: Duplex, onDone: (result: JoinResult) => void = () => {}): Readonly<JoinResult> {
  const result: JoinResult = { bytesAtoB: 0, bytesBtoA: 0, error: undefined };
  let pending = 2;
  let done = false;
  const stopAtoB = forward(a, b, (n) => (result.bytesAtoB += n));
  const stopBtoA = forward(b, a, (n) => (result.bytesBtoA += n));
  const finish = (err?: Error | null): void => {
    if (done) return;
    if (err) {
      done = true;
      result.error = err;
      stopAtoB();
      stopBtoA();
      abortStream(a);
      abortStream(b);
      onDone(result);
    } else if (--pending === 0) {
      done = true;
      onDone(result);
    }
  };
  finished(a, finish);
  finished(b, finish);
  return result;
}
