import type { FernlinkError } from "./errors.js";
import type { StreamProtocol } from "./stream-headers.js";
import type { HostPort } from "./target.js";

/**
 * The contract between relays and the access service. Today both run in one process and
 * call each other directly; with separate relays these become messages between them.
 */

/** Who is at the other end of a tunnel, as proven by its certificate. */
export interface AgentIdentity {
  deviceId: string;
  accountId: string;
  deviceName: string;
  certSerial: string;
}

/** A user's request to open a stream, as the relay saw it. */
export interface StreamRequest {
  token: string | undefined;
  device: string;
  target: HostPort;
  source: string;
  /** What in the portal opened the stream (`web-target:<id>`), so withdrawing that cuts it; absent for a client's stream. */
  via?: string;
  /**
   * Set only by a relay's own listener of a published port (never from a client's headers):
   * the stream is opened with the rights of the job's owner instead of a token.
   */
  job?: { id: string; accountId: string };
  /** "udp" for a stream of datagrams (access rules admit the port for both); absent means TCP. */
  protocol?: StreamProtocol;
  /** The user's connect reason (validated, connect-reason.ts); kept in the stream's audit records. */
  reason?: string;
}

/** The user behind a stream request, once the token is checked. */
export interface Requester {
  accountId: string;
  userId: string;
  userName: string;
  role: "admin" | "member";
  /** The session the token belongs to; for an API token, `token:` and the token's id. Its streams end with it. */
  sessionId: string;
  /** The API token's name, when the request came with one (never the token itself). */
  tokenName?: string;
  /** The account's policy requires a connect reason on every stream. */
  reasonRequired?: boolean;
}

/** Permission to open one stream, with the names the audit needs. */
export interface StreamGrant {
  accountId: string;
  userId: string;
  userName: string;
  /** The requester's session (or `token:` and the API token's id): the stream ends when it ends. */
  sessionId: string;
  /** The API token's name, when the stream was opened with one. */
  tokenName?: string;
  deviceId: string;
  deviceName: string;
  lastSeen: string | null;
  /**
   * Canonical target-filter entries (`host[:port,…]`) that admit the requested port; the
   * agent checks the resolved target against them as well as against its own allowlist.
   */
  allowedTargets: string[];
  /** The target is recorded on this device: the relay keeps the stream's bytes (size-capped). */
  record?: boolean;
}

/** A stream the relay is carrying right now. */
export interface LiveStream {
  streamId: string;
  request: StreamRequest;
  grant: StreamGrant;
  startedAt: Date;
  /** Bytes carried so far from the user to the target. */
  bytesUp: number;
  /** Bytes carried so far from the target to the user. */
  bytesDown: number;
}

/** What the relay reports about each stream for the audit trail. */
export type StreamEvent =
  | { kind: "refused"; request: StreamRequest; requester: Requester | undefined; grant: StreamGrant | undefined; error: FernlinkError; at: Date }
  | { kind: "opened"; streamId: string; request: StreamRequest; grant: StreamGrant; at: Date }
  | { kind: "closed"; streamId: string; bytesUp: number; bytesDown: number; error: Error | undefined; at: Date };

/**
 * The access service as the relay sees it: it decides who may open which stream and keeps
 * the record. The relay never reads accounts or rules itself.
 */
export interface StreamAuthority {
  /** Checks the request's token; throws FernlinkError "unauthenticated". */
  authenticate(request: StreamRequest): Promise<Requester>;
  /** Resolves a grant for an authenticated requester, or throws a FernlinkError (not-found, forbidden). */
  authorize(requester: Requester, request: StreamRequest): Promise<StreamGrant>;
  /** Records a stream event; must not throw. */
  record(event: StreamEvent): void;
}
