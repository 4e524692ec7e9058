import type { PublishJob } from "../protocol/published-ports.js";
import { streamTargetLabel } from "../protocol/stream-headers.js";
import { formatHostPort } from "../protocol/target.js";

/** The bytes a published port with --log-data keeps, per job: the newest 1 MiB of payload. */
export const DATA_LOG_BYTES = 1024 * 1024;

/** One chunk seen on a data connection. */
interface Chunk {
  at: Date;
  /** The data connection's number within the job (1, 2, …). */
  connection: number;
  /** "up": from the source to the target; "down": back. */
  direction: "up" | "down";
  data: Buffer;
}

/**
 * A ring of the chunks carried by one job's data connections, capped at `capacity` bytes of
 * payload: the oldest chunks go first, and a chunk larger than the whole ring keeps its tail.
 * Kept in memory only (the relay has no store); what was dropped is counted and shown.
 */
export class DataLog {
  private readonly chunks: Chunk[] = [];
  private held = 0;
  private dropped = 0;

  constructor(private readonly capacity = DATA_LOG_BYTES) {}

  /** Keeps a copy of `data`. */
  add(connection: number, direction: Chunk["direction"], data: Buffer, at: Date): void {
    const kept = data.length > this.capacity ? data.subarray(data.length - this.capacity) : data;
    this.dropped += data.length - kept.length;
    this.chunks.push({ at, connection, direction, data: Buffer.from(kept) });
    this.held += kept.length;
    while (this.held > this.capacity) {
      const first = this.chunks.shift()!;
      this.held -= first.data.length;
      this.dropped += first.data.length;
    }
  }

  /** Payload bytes held now. */
  get size(): number {
    return this.held;
  }

  /** Payload bytes dropped to stay within the cap. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /**
   * The log as text: a header, then one line per chunk, `TIME #CONN up|down BYTES HEX`, where
   * "up" is from the source to the target. Hex keeps binary protocols (Modbus) readable and exact.
   */
  format(title: string): string {
    const lines = [`# data log of ${title}: ${this.held} bytes held, ${this.dropped} older bytes dropped (cap ${this.capacity} bytes)`];
    for (const c of this.chunks) lines.push(`${c.at.toISOString()} #${c.connection} ${c.direction} ${c.data.length} ${c.data.toString("hex")}`);
    return `${lines.join("\n")}\n`;
  }
}

/** The title of a job's data log: its name, the address it listens on (`host`) and its target. */
export function dataLogTitle(job: PublishJob, host: string): string {
  return `${job.name} (${formatHostPort({ host, port: job.port })} -> ${streamTargetLabel(job.target, job.protocol)})`;
}
