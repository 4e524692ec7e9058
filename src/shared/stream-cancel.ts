import http2, { type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import { MOVED_HEADER } from "../protocol/lane.js";
import { HEADER } from "../protocol/stream-headers.js";
import type { StreamEnds } from "./movable-stream.js";
import type { ResetBudget } from "./reset-budget.js";

/**
 * How the side that opened a CONNECT stream gives it up without RST_STREAM, which the peer
 * rate-limits (see `reset-budget.ts`): it ends its half of the stream with trailers that
 * carry `fernlink-cancel`, and the answering side, an HTTP/2 server whose own resets cost
 * nothing, resets the stream. A normal end sends empty trailers.
 */

/** Streams opened with `openCancellable`, with the reset budget of their session. */
const budgets = new WeakMap<Duplex, ResetBudget>();
const cancelled = new WeakSet<ClientHttp2Stream>();
const trailersSent = new WeakSet<ClientHttp2Stream>();
/** Streams whose sender went on on a lane: their trailers say so (movable-stream.ts). */
const moved = new WeakSet<Duplex>();

/** How long a cancel may wait behind unsent data (a stalled peer) before the stream is reset. */
export const CANCEL_GRACE_MS = 5000;

/** Opens a CONNECT stream that `abortStream` gives up with a trailer, or with a reset from `budget`. */
export function openCancellable(session: ClientHttp2Session, headers: OutgoingHttpHeaders, budget: ResetBudget): ClientHttp2Stream {
  const stream = session.request(headers, { endStream: false, waitForTrailers: true });
  budgets.set(stream, budget);
  stream.on("wantTrailers", () => {
    trailersSent.add(stream);
    stream.sendTrailers(cancelled.has(stream) ? { [HEADER.cancel]: "1" } : moved.has(stream) ? { [MOVED_HEADER]: "1" } : {});
  });
  return stream;
}

/**
 * Answers a stream with `headers` so that its end carries trailers: empty, or the moved
 * trailer once `endsOf`'s `end(true)` was called. Older peers read empty trailers as a plain end.
 */
export function respondWithTrailers(stream: ServerHttp2Stream, headers: OutgoingHttpHeaders): void {
  stream.respond(headers, { waitForTrailers: true });
  // A CONNECT that came through Node's compatibility layer (as a request) has its response's
  // listener here already, which would send trailers too; the stream is ours alone now.
  stream.removeAllListeners("wantTrailers");
  stream.on("wantTrailers", () => stream.sendTrailers(moved.has(stream) ? { [MOVED_HEADER]: "1" } : {}));
}

/** How a side ends or gives up its half of a stream it opened (`openCancellable`) or answered (`respondWithTrailers`). */
export function endsOf(stream: ClientHttp2Stream | ServerHttp2Stream): StreamEnds {
  return {
    end: (lane) => {
      if (lane) moved.add(stream);
      stream.end();
    },
    abort: () => abortStream(stream),
  };
}

/**
 * Ends a stream after a failure. One opened with `openCancellable` is given up with the
 * cancel trailer when this side has not finished sending, else (or when the trailer is
 * stuck behind data the peer does not take) with a reset paid from its budget; any other
 * stream is destroyed.
 */
export function abortStream(stream: Duplex): void {
  const budget = budgets.get(stream);
  if (budget) cancelStream(stream as ClientHttp2Stream, budget);
  else stream.destroy();
}

function cancelStream(stream: ClientHttp2Stream, budget: ResetBudget): void {
  if (stream.closed || stream.destroyed) return;
  // Whatever still arrives is dropped: a paused stream would hold the whole connection's window.
  stream.resume();
  if (trailersSent.has(stream)) return void budget.reset(stream);
  cancelled.add(stream);
  if (!stream.writableEnded) stream.end();
  const timer = setTimeout(() => budget.reset(stream), CANCEL_GRACE_MS);
  timer.unref();
  stream.once("close", () => clearTimeout(timer));
}

/** The opener of a stream cancelled it (the error whoever pipes the stream sees). */
export class StreamCancelledError extends Error {
  override readonly name = "StreamCancelledError";
  readonly code = "stream-cancelled";
  constructor() {
    super("the other side gave the stream up");
  }
}

/**
 * Resets `stream` from the answering side when its opener cancels it, and fails it with
 * StreamCancelledError, so that what it is joined to is aborted too rather than half-closed.
 */
export function resetOnCancel(stream: ServerHttp2Stream): void {
  stream.on("trailers", (headers) => {
    if (headers[HEADER.cancel] === undefined) return;
    resetAnswered(stream, http2.constants.NGHTTP2_CANCEL);
    stream.destroy(new StreamCancelledError());
  });
}

/** Resets a stream this side answered. */
export function resetAnswered(stream: ServerHttp2Stream, code: number): void {
  // While piped, close() alone leaves its RST_STREAM unsent (Node 20); ending first sends it.
  stream.end();
  stream.close(code);
}
