/** ALPN names told apart on the one TLS port. */
export const ALPN = {
  /** Agent tunnel: the relay becomes the HTTP/2 client over the agent's connection. */
  agent: "fernlink-agent/1",
  /** Clients and browsers: HTTP/2 API plus CONNECT streams. */
  h2: "h2",
  /** One stream on a TLS connection of its own (lane.ts): a client's, or an agent's answer to the relay. */
  lane: "fernlink-lane/1",
  /** Plain HTTPS API (curl, older clients). */
  http1: "http/1.1",
} as const;

/** What the server offers, in order of preference. */
export const SERVER_ALPN: readonly string[] = [ALPN.h2, ALPN.http1, ALPN.agent, ALPN.lane];
