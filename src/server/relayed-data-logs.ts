import type { Duplex } from "node:stream";
import { DatagramDecoder } from "../protocol/datagram-capsule.js";
import type { PublishJob } from "../protocol/published-ports.js";
import { DataLog, dataLogTitle } from "../relay/data-log.js";

/** One job's log on this node, with the number of its last data connection. */
interface Held {
  job: PublishJob;
  /** The relay's host the job listens on, for the log's title. */
  host: string;
  log: DataLog;
  connections: number;
}

/**
 * The data logs (`--log-data`) of published ports a separate relay listens for, kept on the
 * access node that answers their streams (server/publish-streams.ts).
 *
 * Kept here, not on the relay: every byte of such a connection already passes through this
 * node (relay → CONNECT to this node → its relay.openStream → the device's tunnel), so logging
 * it here needs no second copy of the payload on the wire, no new message, and nothing taken on
 * the relay's word; the job's log setting comes from the store. It is the same DataLog (cap,
 * format) as the node's own listener keeps, and `publish log` reads it through the same
 * PortPublisher.dataLog. A UDP job's stream carries DATAGRAM capsules: the payloads are logged,
 * one chunk per datagram, as published-udp.ts logs them.
 */
export class RelayedDataLogs {
  private readonly held = new Map<string, Held>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /**
   * Logs one data connection of `job` that a relay on `host` accepted (nothing without
   * --log-data): `fromSource` carries what its client sent ("up"), `fromTarget` the answers ("down").
   */
  tap(job: PublishJob, host: string, fromSource: Duplex, fromTarget: Duplex): void {
    if (!job.logData) return;
    const known = this.held.get(job.id);
    const held = known ?? { job, host, log: new DataLog(), connections: 0 };
    held.job = job;
    held.host = host;
    this.held.set(job.id, held);
    const number = ++held.connections;
    this.listen(held, number, "up", fromSource);
    this.listen(held, number, "down", fromTarget);
  }

  private listen(held: Held, number: number, direction: "up" | "down", stream: Duplex): void {
    const decoder = held.job.protocol === "udp" ? new DatagramDecoder() : undefined;
    const onData = (chunk: Buffer): void => {
      if (!decoder) return void held.log.add(number, direction, chunk, this.now());
      try {
        for (const payload of decoder.push(chunk)) held.log.add(number, direction, payload, this.now());
      } catch {
        // Malformed capsules fail the stream on the device's side; the log stops here.
        stream.off("data", onData);
      }
    };
    stream.on("data", onData);
  }

  /** Payload bytes held for the job (0 when none is kept). */
  size(jobId: string): number {
    return this.held.get(jobId)?.log.size ?? 0;
  }

  /** The job's log as text, in the format of the node's own listeners; undefined when none was kept here. */
  format(jobId: string): string | undefined {
    const held = this.held.get(jobId);
    if (!held) return undefined;
    return held.log.format(dataLogTitle(held.job, held.host));
  }
}
