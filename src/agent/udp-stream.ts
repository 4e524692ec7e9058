import type { Socket } from "node:dgram";
import type { Duplex } from "node:stream";
import { datagramChannel } from "../shared/datagram-channel.js";

/** How long a UDP stream lives without a datagram either way; past the client's 60 s mappings, so the client normally ends first. */
export const AGENT_UDP_IDLE_MS = 120_000;

/** Datagrams carried by a UDP stream, for the agent's log. */
export interface UdpCounts {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  dropped: number;
}

/**
 * Joins a UDP stream from the relay to a connected UDP socket: each capsule becomes one datagram
 * to the target, each datagram from the target one capsule. Ends when the relay's side ends,
 * the stream fails, or nothing moves for `idleMs`; an ICMP error from the target (port
 * unreachable) is not an end: UDP applications retry, and the next datagram may be answered.
 */
export function carryUdp(stream: Duplex, socket: Socket, idleMs: number, onDone: (counts: UdpCounts, err: Error | undefined) => void): void {
  const counts: UdpCounts = { datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, dropped: 0 };
  let closed = false;
  const channel = datagramChannel(stream, {
    onDatagram: (payload) => {
      counts.datagramsIn++;
      counts.bytesIn += payload.length;
      if (!closed) socket.send(payload);
    },
    onEnd: (err) => finish(err),
    idleMs,
    onIdle: () => finish(undefined),
  });
  const finish = (err: Error | undefined): void => {
    if (closed) return;
    closed = true;
    counts.dropped = channel.dropped;
    socket.close();
    if (err) channel.abort();
    else channel.close();
    onDone(counts, err);
  };
  socket.on("message", (payload) => {
    if (!channel.send(payload)) return;
    counts.datagramsOut++;
    counts.bytesOut += payload.length;
  });
  socket.on("error", () => {});
}
