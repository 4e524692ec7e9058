/**
 * A TCP proxy that counts what one side of it costs on the wire: every connection accepted
 * (an agent's tunnel, or its check-ins) is forwarded to the server, and the kernel's own
 * counters of the accepted socket (tcp_info via `ss -tinH`: payload bytes and segments both
 * ways, retransmissions, pure ACKs and TCP keep-alive probes included) are read while it is
 * open and once more just before the proxy closes it. The 3-way handshake and the 4 segments
 * of the close happen outside those readings and are added as a fixed cost per connection.
 */
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { runCommand } from "./procs.js";

/** IPv4 header (20) + TCP header with the timestamp option Linux sends (32). */
export const HEADER_BYTES_PER_SEGMENT = 52;
/** SYN and SYN-ACK (60 bytes each: MSS, SACK, timestamps, window scale), the handshake's ACK, and FIN, ACK, FIN, ACK. */
export const OPEN_AND_CLOSE_BYTES = 60 + 60 + 52 + 4 * 52;

/** What a set of connections cost. */
export interface WireCount {
  connections: number;
  /** TCP payload, both directions (TLS records). */
  payloadBytes: number;
  segments: number;
  /** payload + IPv4/TCP headers of every segment + opening and closing each connection (no link layer). */
  wireBytes: number;
}

const ZERO: WireCount = { connections: 0, payloadBytes: 0, segments: 0, wireBytes: 0 };

function add(a: WireCount, b: WireCount): WireCount {
  return {
    connections: a.connections + b.connections,
    payloadBytes: a.payloadBytes + b.payloadBytes,
    segments: a.segments + b.segments,
    wireBytes: a.wireBytes + b.wireBytes,
  };
}

/** The kernel's counters of the socket from local port `local` to remote port `remote` on loopback. */
async function socketCount(local: number, remote: number): Promise<WireCount> {
  const out = await runCommand("ss", ["-tinH", "state", "all", `( sport = :${local} and dport = :${remote} )`]);
  const field = (name: string): number => Number(out.match(new RegExp(`\\b${name}:(\\d+)`))?.[1] ?? 0);
  const payloadBytes = field("bytes_sent") + field("bytes_received");
  const segments = field("segs_out") + field("segs_in");
  return { connections: 1, payloadBytes, segments, wireBytes: payloadBytes + segments * HEADER_BYTES_PER_SEGMENT };
}

/**
 * A connection's cost from what the proxy itself saw: the payload is exact, the segments are an
 * upper estimate (every chunk its own segment, each answered by a pure ACK).
 */
function estimate(payloadBytes: number, chunks: number): WireCount {
  const segments = 2 * chunks;
  return { connections: 1, payloadBytes, segments, wireBytes: payloadBytes + segments * HEADER_BYTES_PER_SEGMENT };
}

/** Proxy from a port on 127.0.0.1 to `127.0.0.1:targetPort`, counting the accepted side. */
export class CountingProxy {
  /** Connections already closed, as read just before their close. */
  private closed: WireCount = ZERO;
  private readonly open = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<CountingProxy> {
    // Half-open: a peer's FIN must not close the socket before its counters are read.
    const server = createServer({ allowHalfOpen: true });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const proxy = new CountingProxy(server, (server.address() as AddressInfo).port);
    server.on("connection", (down) => proxy.forward(down, targetPort));
    return proxy;
  }

  /** The connections closed so far, as read just before each closed. */
  get closedSoFar(): WireCount {
    return this.closed;
  }

  /** Connections open now. */
  get openNow(): number {
    return this.open.size;
  }

  /** Connections accepted so far, open or closed. */
  get accepted(): number {
    return this.closed.connections + this.open.size;
  }

  /** Everything counted so far: the closed connections plus the open ones as of now. */
  async total(): Promise<WireCount> {
    let sum = this.closed;
    for (const s of this.open) sum = add(sum, await socketCount(this.port, s.remotePort!));
    return sum;
  }

  close(): void {
    for (const s of this.open) s.destroy();
    this.server.close();
  }

  private forward(down: Socket, targetPort: number): void {
    const remotePort = down.remotePort!;
    this.open.add(down);
    const up = connect({ host: "127.0.0.1", port: targetPort, allowHalfOpen: true });
    up.setNoDelay(true);
    down.setNoDelay(true);
    for (const s of [down, up]) s.on("error", () => {});
    // Kept in user space too, for a connection the peer reset before its counters could be read.
    let chunks = 0;
    down.on("data", (chunk: Buffer) => {
      chunks++;
      up.write(chunk);
    });
    up.on("data", (chunk: Buffer) => {
      chunks++;
      down.write(chunk);
    });
    let counting: Promise<void> | undefined;
    // Read the counters once, before this side's FIN goes out (every close waits for the reading);
    // the close's own segments are the fixed cost.
    const count = (): Promise<void> =>
      (counting ??= (async () => {
        const none = { ...ZERO, connections: 1 };
        const [agentSide, serverSide] = await Promise.all([
          socketCount(this.port, remotePort).catch(() => none),
          up.localPort ? socketCount(up.localPort, targetPort).catch(() => none) : none,
        ]);
        // A peer that resets its end (a TLS client that closes before the server's close_notify arrived) takes the
        // socket and its counters with it; the proxy's leg to the server carried the same bytes in the same writes.
        const last = agentSide.payloadBytes > 0 ? agentSide : serverSide.payloadBytes > 0 ? serverSide : estimate(down.bytesRead + down.bytesWritten, chunks);
        this.closed = add(this.closed, { ...last, wireBytes: last.wireBytes + OPEN_AND_CLOSE_BYTES });
        this.open.delete(down);
      })());
    up.on("end", () => void count().then(() => down.end()));
    down.on("end", () => void count().then(() => up.end()));
    down.on("close", () => void count().then(() => up.destroy()));
    up.on("close", () => void count().then(() => down.end()));
  }
}

/** Bytes a day at `wireBytesPerEvent` every `intervalMs`. */
export function bytesPerDay(wireBytesPerEvent: number, intervalMs: number): number {
  return (wireBytesPerEvent * 86_400_000) / intervalMs;
}
