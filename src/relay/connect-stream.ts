import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import { FernlinkError } from "../protocol/errors.js";
import { allowedTargetsHeader, connectHeaders, HEADER, protocolHeaders, readStreamProtocol, type StreamProtocol } from "../protocol/stream-headers.js";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { awaitConnectAnswer } from "../shared/connect-answer.js";
import type { ResetBudget } from "../shared/reset-budget.js";
import { abortStream, openCancellable } from "../shared/stream-cancel.js";

/** Metadata the relay passes on with each stream: for the agent's log, and the targets the access rules allow. */
export interface StreamMeta {
  streamId: string;
  user: string;
  /** Target-filter entries the agent checks the resolved target against; absent: its allowlist alone decides. */
  allowedTargets?: readonly string[];
  /** "udp" marks a stream of datagrams; absent means TCP. */
  protocol?: StreamProtocol | undefined;
}

/**
 * Opens a CONNECT stream to `target` on a session where this side is the client (towards an
 * agent, or towards the relay holding the device), and waits for the answer: 200, the peer's
 * typed refusal, a timeout, or `gone(cause)` when the stream or session died first.
 */
export function openConnectStream(
  session: ClientHttp2Session,
  resets: ResetBudget,
  target: HostPort,
  meta: StreamMeta,
  options: { timeoutMs: number; extra?: Record<string, string>; gone: (cause: Error) => FernlinkError },
): Promise<ClientHttp2Stream> {
  const headers: Record<string, string> = { [HEADER.streamId]: meta.streamId, [HEADER.user]: meta.user, ...protocolHeaders(meta.protocol), ...options.extra };
  if (meta.allowedTargets) headers[HEADER.allowedTargets] = allowedTargetsHeader(meta.allowedTargets);
  let stream: ClientHttp2Stream;
  try {
    stream = openCancellable(session, connectHeaders(target, headers), resets);
  } catch (err) {
    return Promise.reject(options.gone(err as Error));
  }
  return awaitConnectAnswer(
    stream,
    options.timeoutMs,
    (failure) =>
      failure.kind === "timeout"
        ? new FernlinkError("target-timeout", `target ${formatHostPort(target)} did not answer within ${options.timeoutMs / 1000} s`)
        : options.gone(failure.cause),
    abortStream,
    // An agent from before UDP ignores the mark and would dial TCP: it must confirm the protocol.
    (headers) =>
      meta.protocol === "udp" && readProtocolOrTcp(headers) !== "udp"
        ? new FernlinkError("target-unreachable", "the device's agent does not carry UDP; update fernlink on the device")
        : undefined,
  );
}

function readProtocolOrTcp(headers: Parameters<typeof readStreamProtocol>[0]): StreamProtocol {
  try {
    return readStreamProtocol(headers);
  } catch {
    return "tcp";
  }
}
