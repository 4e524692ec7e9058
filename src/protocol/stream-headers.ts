import { ERROR_STATUS, type ErrorCode, FernlinkError, isErrorCode } from "./errors.js";
import { formatHostPort, type HostPort, parseHostPort } from "./target.js";
import { parseTargetEntry, type TargetEntry } from "./target-filter.js";

/**
 * Stream metadata travels in the HTTP/2 CONNECT headers, payload in DATA frames only, so a
 * relay can route and filter on metadata without ever needing the bytes.
 *
 * client → relay:  CONNECT :authority=THOST:TPORT, fernlink-device, authorization: Bearer TOKEN,
 *                  fernlink-connect-reason (percent-encoded, connect-reason.ts) when one is given
 * relay  → agent:  CONNECT :authority=THOST:TPORT, fernlink-stream-id, fernlink-user,
 *                  fernlink-allowed-targets (space-separated target-filter entries)
 * both hops:       fernlink-protocol: udp for a stream of UDP datagrams (DATAGRAM capsules,
 *                  datagram-capsule.ts); absent means a TCP byte stream
 * answers:         :status 200 (with fernlink-recorded: 1 when the relay keeps the stream's bytes),
 *                  or an error status with fernlink-error (code) and fernlink-reason
 * ends:            the opener ends its half with trailers; `fernlink-cancel` in them means it gave
 *                  up, and the answerer resets the stream (shared/stream-cancel.ts says why)
 */
export const HEADER = {
  device: "fernlink-device",
  streamId: "fernlink-stream-id",
  user: "fernlink-user",
  allowedTargets: "fernlink-allowed-targets",
  errorCode: "fernlink-error",
  reason: "fernlink-reason",
  cancel: "fernlink-cancel",
  protocol: "fernlink-protocol",
  connectReason: "fernlink-connect-reason",
  recorded: "fernlink-recorded",
} as const;

/** What a stream carries: a TCP byte stream, or UDP datagrams to one target. */
export type StreamProtocol = "tcp" | "udp";

type Headers = Record<string, string | string[] | number | undefined>;

function single(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value === undefined ? undefined : String(value);
}

/** The CONNECT target of a stream, validated. */
export function readConnectTarget(headers: Headers): HostPort {
  if (headers[":method"] !== "CONNECT") throw new FernlinkError("invalid-input", "stream is not a CONNECT request");
  const authority = single(headers, ":authority");
  if (!authority) throw new FernlinkError("invalid-input", "CONNECT request has no target");
  try {
    return parseHostPort(authority);
  } catch (err) {
    throw new FernlinkError("invalid-input", `CONNECT target "${authority}" is invalid`, { cause: err });
  }
}

/** Reads a metadata header as a string. */
export function readHeader(headers: Headers, name: string): string | undefined {
  return single(headers, name);
}

/** Headers that open a stream to `target`, plus any metadata. */
export function connectHeaders(target: HostPort, extra: Record<string, string> = {}): Record<string, string> {
  return { ":method": "CONNECT", ":authority": formatHostPort(target), ...extra };
}

/** Response headers that refuse a stream with a typed reason. */
export function errorResponseHeaders(err: FernlinkError): Record<string, string | number> {
  // Header values must be latin-1; a reason is one line of ASCII.
  const reason = err.message.replace(/[^\x20-\x7e]/g, "?").slice(0, 500);
  return { ":status": ERROR_STATUS[err.code], [HEADER.errorCode]: err.code, [HEADER.reason]: reason };
}

/** Turns a non-200 CONNECT answer back into the error the peer reported. */
export function errorFromResponse(headers: Headers): FernlinkError {
  const status = Number(headers[":status"]);
  const code = single(headers, HEADER.errorCode);
  const reason = single(headers, HEADER.reason) ?? `stream refused with status ${status}`;
  const known: ErrorCode = isErrorCode(code) ? code : status === 401 ? "unauthenticated" : "internal";
  return new FernlinkError(known, reason);
}

/** The header value that carries a stream's allowed targets to the agent. */
export function allowedTargetsHeader(entries: readonly string[]): string {
  return entries.join(" ");
}

/**
 * The allowed targets the relay sent with a stream: undefined when the header is absent
 * (the agent's allowlist alone decides), entries otherwise; a malformed entry refuses the stream.
 */
export function readAllowedTargets(headers: Headers): TargetEntry[] | undefined {
  const value = single(headers, HEADER.allowedTargets);
  if (value === undefined) return undefined;
  try {
    return value
      .split(" ")
      .filter((t) => t !== "")
      .map(parseTargetEntry);
  } catch (err) {
    throw new FernlinkError("invalid-input", `the relay sent malformed allowed targets: ${(err as Error).message}`, { cause: err });
  }
}

/** The protocol a stream carries; an unknown value refuses the stream rather than guessing. */
export function readStreamProtocol(headers: Headers): StreamProtocol {
  const value = single(headers, HEADER.protocol);
  if (value === undefined || value === "tcp") return "tcp";
  if (value === "udp") return "udp";
  throw new FernlinkError("invalid-input", `stream protocol "${value.slice(0, 20)}" is not supported; use tcp or udp`);
}

/** The header that marks a stream's protocol (none for TCP, so older peers see what they always saw). */
export function protocolHeaders(protocol: StreamProtocol | undefined): Record<string, string> {
  return protocol === "udp" ? { [HEADER.protocol]: "udp" } : {};
}

/** A stream's target as people read it: `host:port`, with `/udp` for datagrams (audit, live lists, logs). */
export function streamTargetLabel(target: HostPort, protocol: StreamProtocol | undefined): string {
  return protocol === "udp" ? `${formatHostPort(target)}/udp` : formatHostPort(target);
}
