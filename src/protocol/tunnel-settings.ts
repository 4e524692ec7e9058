import type { Settings } from "node:http2";

/**
 * Flow-control windows for every HTTP/2 session that carries streams. Measured: 1 MiB
 * stream windows give ~2× the bulk throughput of Node's 64 KiB default; a 4 MiB connection
 * window keeps 100 concurrent streams moving, while a 32 MiB one was seen to stall them.
 * The bench and the many-concurrent-streams test guard these numbers.
 */
export const TUNNEL_WINDOW = {
  streamWindowBytes: 1024 * 1024,
  connectionWindowBytes: 4 * 1024 * 1024,
  maxFrameBytes: 64 * 1024,
} as const;

/**
 * Memory nghttp2 may hold for one tunnel before refusing new streams (Node's default is
 * 10 MB): in-flight data of up to a connection window each way, plus headers of many
 * concurrent streams.
 */
export const TUNNEL_SESSION_MEMORY_MB = 64;

/** SETTINGS each tunnel end announces. */
export const TUNNEL_SETTINGS: Settings = {
  initialWindowSize: TUNNEL_WINDOW.streamWindowBytes,
  maxFrameSize: TUNNEL_WINDOW.maxFrameBytes,
  maxConcurrentStreams: 1000,
  enablePush: false,
};

/**
 * Keep-alive: the client PINGs every `intervalMs`; no answer within `timeoutMs` means the peer
 * is dead. The relay only listens: no PING from an agent for both together, unless the agent's
 * PINGs announce a timing of their own (every agent's do; older agents PINGed at this one).
 */
export const KEEPALIVE = {
  intervalMs: 15_000,
  timeoutMs: 10_000,
} as const;

/**
 * The agent's default PING timing. One PING round trip costs about 242 bytes on the wire
 * (two 39-byte TLS records and three segments' IPv4/TCP headers, counted by the bench), so
 * an idle device costs 86 400 / 35 × 242 ≈ 600 KB a day, under the 700 KB budget; at 15 s it
 * was 1.4 MB. Both ends notice a dead peer within interval + timeout, 45 s: about every 30 s
 * is as often as the budget allows, and no cheaper probe carries both ends' liveness.
 */
export const AGENT_KEEPALIVE = {
  intervalMs: 35_000,
  timeoutMs: 10_000,
} as const;
