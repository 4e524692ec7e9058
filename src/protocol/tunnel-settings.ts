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
 * Each end sizes the stream windows it announces to its hop's round trip, measured by a few
 * PINGs once the session is up: window = rate × round trip, between a floor and a ceiling.
 * The window is also what a small stream's bytes may wait behind when a bulk stream fills its
 * window on the same connection: 1 MiB is 12 ms at 0.7 Gbit/s per hop, so on a LAN or loopback
 * hop (round trip under a millisecond) the floor keeps that wait short, while a WAN hop gets
 * the window its round trip needs (20 ms: 8 MiB) instead of 1 MiB's 0.4 Gbit/s cap.
 */
export const WINDOW_TUNING = {
  /** PINGs sent; the shortest round trip counts (the others may have waited behind other work). */
  probes: 3,
  /** What one stream should be able to carry on a hop. */
  bytesPerSecond: 400 * 1024 * 1024,
  minStreamWindowBytes: 256 * 1024,
  maxStreamWindowBytes: 8 * 1024 * 1024,
} as const;

/** The stream window for a hop whose round trip is `rttMs` (WINDOW_TUNING). */
export function streamWindowForRtt(rttMs: number): number {
  const { bytesPerSecond, minStreamWindowBytes, maxStreamWindowBytes } = WINDOW_TUNING;
  const bdp = Number.isFinite(rttMs) ? Math.ceil((bytesPerSecond * Math.max(0, rttMs)) / 1000) : maxStreamWindowBytes;
  return Math.min(maxStreamWindowBytes, Math.max(minStreamWindowBytes, bdp));
}

/** The connection window that goes with a stream window: never below TUNNEL_WINDOW's, and at least one stream's. */
export function connectionWindowFor(streamWindowBytes: number): number {
  return Math.max(TUNNEL_WINDOW.connectionWindowBytes, streamWindowBytes);
}

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
