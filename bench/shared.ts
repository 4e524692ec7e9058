/**
 * What the bench processes say to each other: the wire protocol of the target servers,
 * the jobs the orchestrator hands the load generator (over the fork IPC channel), and
 * the small statistics helpers both sides use.
 */

/** Bulk port: the client sends one mode byte and a u64 length, then the bulk server acts. */
export const MODE_UPLOAD = 0x55; // 'U': the client sends LENGTH bytes, the sink answers one ACK byte
export const MODE_DOWNLOAD = 0x44; // 'D': the source sends LENGTH bytes, then ends
export const BULK_HEADER_BYTES = 9;
export const ACK = 0x4b;

/**
 * Echo port, shaped like Modbus/TCP "read 8 holding registers": a 12-byte request
 * (7-byte MBAP header + function + address + count) gets a 25-byte reply
 * (MBAP + function + byte count + 16 data bytes). Chatty PLC tools do exactly this.
 */
export const RTT_REQUEST_BYTES = 12;
export const RTT_REPLY_BYTES = 25;

/** Write size for bulk data: large enough that per-write overhead does not dominate. */
export const CHUNK_BYTES = 64 * 1024;

/** The ports of the target servers (one child process). */
export interface TargetPorts {
  bulk: number;
  echo: number;
  /** Writes one byte as soon as a connection is accepted: server-speaks-first, like a banner. */
  banner: number;
}

export type Job =
  | { kind: "upload" | "download"; port: number; bytesPerConn: number; conns: number }
  /**
   * `maxSeconds`: stop early after this long (the samples so far count); `quantiles`: also return QUANTILES;
   * `warmupSeconds`: the warm-up also lasts at least this long, and its round trips come back as `coldUs`.
   */
  | { kind: "rtt"; port: number; n: number; warmup: number; conns: number; maxSeconds?: number; quantiles?: boolean; warmupSeconds?: number }
  | { kind: "connect"; port: number; n: number; warmup: number }
  /** New streams: `loops` loops of connect → 12-byte request → 25-byte reply → close, for `seconds`. */
  | { kind: "streams"; port: number; loops: number; seconds: number };

export interface Summary {
  p50: number;
  p99: number;
  p999: number;
  mean: number;
  max: number;
}

/** Percentiles of a latency distribution returned for plots (rtt jobs with `quantiles`). */
export const QUANTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100] as const;

export type JobResult =
  | { kind: "bulk"; bytes: number; seconds: number; gbps: number }
  | { kind: "rtt"; messages: number; seconds: number; perSecond: number; us: Summary; quantilesUs?: number[]; coldUs?: Summary }
  | { kind: "connect"; n: number; us: Summary }
  | { kind: "streams"; n: number; seconds: number; perSecond: number };

/** Jobs for a fleet helper (fleet-agents.ts), each answered with one FleetAnswer. */
export type FleetJob =
  /** Bind every outgoing connection of the helper to this loopback address (first job). */
  | { op: "bind"; sourceAddress: string }
  /** Add these devices as the admin behind `token`, and register each into stateRoot/NAME. */
  | { op: "register"; server: string; caPem: string; token: string; names: string[]; stateRoot: string; concurrency: number }
  /** Run an agent for each state directory; answer once all are online. */
  | { op: "run"; stateDirs: string[]; connecting: number }
  /** When each device's tunnel first came up at or after `since` (epoch ms). */
  | { op: "connects"; since: number }
  /** Stop every agent of the helper. */
  | { op: "stop" };

export type FleetAnswer =
  | { op: "bind" | "stop"; count: number }
  | { op: "register" | "run"; count: number; seconds: number }
  /** Epoch ms per device, NaN (null over IPC) for one not back; warnings counted by message. */
  | { op: "connects"; firstAfter: (number | null)[]; warnings: Record<string, number> };

/** Messages from a child to the orchestrator. */
export type ChildMessage = { ok: true; result: JobResult } | { ok: true; ports: TargetPorts } | { ok: true; fleet: FleetAnswer } | { ok: false; error: string };

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: Float64Array): Summary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    mean: sum / sorted.length,
    max: sorted[sorted.length - 1] ?? NaN,
  };
}
