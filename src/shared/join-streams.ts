import { finished, type Duplex } from "node:stream";
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
 * Pipes two duplexes into each other with backpressure and half-close: the end of one
 * direction ends only that direction; an error on either side aborts both (`abortStream`).
 * `onDone` runs once, when both directions have finished or one has failed. The result
 * returned is the same object, counting while the bytes flow.
 *
 * `pipe` + `finished` rather than `pipeline`: pipeline destroys every stream on error, and
 * an HTTP/2 stream this side opened must be cancelled, not reset (`stream-cancel.ts`).
 */
export function joinStreams(a: Duplex, b: Duplex, onDone: (result: JoinResult) => void = () => {}): Readonly<JoinResult> {
  const result: JoinResult = { bytesAtoB: 0, bytesBtoA: 0, error: undefined };
  let pending = 2;
  let done = false;
  const finish = (err?: Error | null): void => {
    if (done) return;
    if (err) {
      done = true;
      result.error = err;
      a.unpipe(b);
      b.unpipe(a);
      abortStream(a);
      abortStream(b);
      onDone(result);
    } else if (--pending === 0) {
      done = true;
      onDone(result);
    }
  };
  a.on("data", (chunk: Buffer) => (result.bytesAtoB += chunk.length));
  b.on("data", (chunk: Buffer) => (result.bytesBtoA += chunk.length));
  a.pipe(b);
  b.pipe(a);
  finished(a, finish);
  finished(b, finish);
  return result;
}
