/**
 * Keep-alive cost of an idle device, counted on the wire: the kernel's own TCP counters
 * (tcp_info bytes_sent / bytes_received / segs_out / segs_in, read with `ss -tinp`) of every
 * TCP connection the idle agent holds, at the start and the end of a window. No proxy in
 * between and no packet capture; the agent's only connection is its tunnel to the relay.
 */
import { runCommand } from "./procs.js";

/** IPv4 header (20) + TCP header with the timestamp option Linux sends (32). */
const HEADER_BYTES_PER_SEGMENT = 52;

export interface TcpCounters {
  payloadBytes: number;
  segments: number;
  connections: number;
}

export interface KeepAliveResult {
  windowSeconds: number;
  /** TLS records (HTTP/2 PING frames and their acks), both directions, as TCP payload. */
  payloadBytes: number;
  segments: number;
  /** payload + IPv4/TCP headers of every segment (no link-layer framing). */
  wireBytes: number;
  wireBytesPerDay: number;
  connections: number;
}

/** Sums the counters of the established TCP connections of `pid`. */
export async function tunnelCounters(pid: number): Promise<TcpCounters> {
  const out = await runCommand("ss", ["-tinpH", "state", "established"]);
  const lines = out.split("\n");
  const total: TcpCounters = { payloadBytes: 0, segments: 0, connections: 0 };
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.includes(`pid=${pid},`)) continue;
    const info = lines[i + 1] ?? "";
    const field = (name: string): number => Number(info.match(new RegExp(`\\b${name}:(\\d+)`))?.[1] ?? 0);
    total.payloadBytes += field("bytes_sent") + field("bytes_received");
    total.segments += field("segs_out") + field("segs_in");
    total.connections++;
  }
  return total;
}

/** The idle agent's bytes since `start`, extrapolated to a day. */
export async function idleTunnelBytes(pid: number, start: { at: number; counters: TcpCounters }): Promise<KeepAliveResult> {
  const end = await tunnelCounters(pid);
  const windowSeconds = (performance.now() - start.at) / 1000;
  const payloadBytes = end.payloadBytes - start.counters.payloadBytes;
  const segments = end.segments - start.counters.segments;
  const wireBytes = payloadBytes + segments * HEADER_BYTES_PER_SEGMENT;
  return { windowSeconds, payloadBytes, segments, wireBytes, wireBytesPerDay: (wireBytes * 86_400) / windowSeconds, connections: end.connections };
}
