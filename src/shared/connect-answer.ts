import type { ClientHttp2Stream, IncomingHttpHeaders } from "node:http2";
import { errorFromResponse } from "../protocol/stream-headers.js";

/** Why an opening stream got no answer: the wait ran out, or the stream died first. */
export type OpenFailure = { kind: "timeout" } | { kind: "gone"; cause: Error };

/**
 * Waits for the answer to a CONNECT request: resolves with the stream on 200, rejects with
 * the peer's typed error on any other status, and with `onFailure`'s error when the stream
 * dies first (a dying session ends pending streams with "close" and no "error") or no
 * answer comes within `timeoutMs`. A refused or timed-out stream is ended with `abandon`
 * (a cancel, not a reset: see `stream-cancel.ts`). Later stream errors belong to whoever
 * pipes the stream. `check` may still refuse a 200 whose headers lack what the opener needs.
 */
export function awaitConnectAnswer(
  stream: ClientHttp2Stream,
  timeoutMs: number,
  onFailure: (failure: OpenFailure) => Error,
  abandon: (stream: ClientHttp2Stream) => void,
  check?: (headers: IncomingHttpHeaders) => Error | undefined,
): Promise<ClientHttp2Stream> {
  stream.on("error", () => {});
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      stream.removeListener("error", gone);
      stream.removeListener("close", closedEarly);
    };
    const gone = (cause: Error): void => {
      settle();
      reject(onFailure({ kind: "gone", cause }));
    };
    const closedEarly = (): void => gone(new Error("the stream closed before an answer"));
    const timer = setTimeout(() => {
      settle();
      abandon(stream);
      reject(onFailure({ kind: "timeout" }));
    }, timeoutMs);
    stream.once("error", gone);
    stream.once("close", closedEarly);
    stream.once("response", (headers) => {
      settle();
      const refusal = headers[":status"] === 200 ? check?.(headers) : errorFromResponse(headers);
      if (!refusal) return resolve(stream);
      abandon(stream);
      reject(refusal);
    });
  });
}
