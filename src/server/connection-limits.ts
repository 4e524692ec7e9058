/** How long connections may take and how many one source may hold before they prove who they are. */
export interface ConnectionLimits {
  /** A TLS handshake not finished by then is cut. */
  handshakeTimeoutMs: number;
  /** An HTTP/1.1 request's headers must be complete this long after its first byte (or the connection's start). */
  headersTimeoutMs: number;
  /** An unproven HTTP/2 connection without an open stream, and an HTTP/1.1 connection between requests, close after this long. */
  idleTimeoutMs: number;
  /** Unproven connections open at once from one source (an IPv4 address, an IPv6 /64). */
  maxUnauthenticatedPerSource: number;
  /** TLS handshakes under way at once past which agents' new handshakes are refused (they back off and retry). */
  maxAgentHandshakes: number;
}

/**
 * Production limits. Plants reach the server from behind one NAT address: a few hundred
 * connections of browsers and clients in their handshake or not yet proven are normal.
 */
export const CONNECTION_LIMITS: ConnectionLimits = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 20_000,
  idleTimeoutMs: 65_000,
  maxUnauthenticatedPerSource: 300,
  maxAgentHandshakes: 64,
};
