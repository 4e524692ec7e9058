import net, { type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { FernlinkError } from "../protocol/errors.js";
import { type PortPublisher, type PortRange, type PublishJob, type PublishStats, publishStreamRequest, sourceAllowed } from "../protocol/published-ports.js";
import type { StreamRequest } from "../protocol/relay-access.js";
import { streamTargetLabel } from "../protocol/stream-headers.js";
import { formatHostPort } from "../protocol/target.js";
import { UDP_IDLE_MS } from "../shared/datagram-mappings.js";
import type { Logger } from "../shared/log.js";
import { STREAM_BUFFER_BYTES } from "../shared/stream-buffer.js";
import { abortStream } from "../shared/stream-cancel.js";
import { DataLog, dataLogTitle } from "./data-log.js";
import { listenUdpJob } from "./published-udp.js";

/** What the listeners of published ports need from the relay around them. */
export interface PortPublisherOptions {
  /** The host to listen on: the relay's --listen host. */
  host: string;
  range: PortRange | undefined;
  /** The relay's in-process stream opener: authorised, audited, listed and cuttable like a client's CONNECT. */
  openStream(request: StreamRequest): Promise<Duplex>;
  log: Logger;
  now?: () => Date;
  /** How long a published UDP port's mapping lives without a datagram either way (default UDP_IDLE_MS). */
  udpIdleMs?: number;
}

/** One job on this host: its listener (absent while paused), counters and data log. */
interface Entry {
  job: PublishJob;
  /** The TCP server or the UDP socket of the job. */
  listener: { close(): void } | undefined;
  stats: PublishStats;
  dataLog: DataLog | undefined;
  connections: number;
}

/** A port publisher that can also close every listener at shutdown. */
export interface LocalPortPublisher extends PortPublisher {
  closeAll(): void;
  /** The ids of the jobs listened for right now. */
  listening(): string[];
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function listenError(err: unknown, job: PublishJob, host: string): FernlinkError {
  const code = (err as NodeJS.ErrnoException).code;
  const udp = job.protocol === "udp" ? "/udp" : "";
  const where = `${formatHostPort({ host, port: job.port })}${udp}`;
  if (code === "EADDRINUSE")
    return new FernlinkError("conflict", `port ${job.port}${udp} is in use on ${host} by another program; pick another port`, { cause: err });
  if (code === "EACCES")
    return new FernlinkError("invalid-input", `the server may not listen on ${where} (a port below 1024 needs privileges)`, { cause: err });
  return new FernlinkError("internal", `cannot listen on ${where}: ${(err as Error).message}`, { cause: err });
}

/**
 * The listeners of published ports on a relay's host. Each accepted connection from a source
 * inside the job's whitelist becomes a stream opened by the relay (with the job owner's rights,
 * checked by the access service on every connection); any other source is closed before a
 * stream opens, and counted. A UDP job's socket does the same per source address and port
 * (relay/published-udp.ts).
 */
export function createPortPublisher(options: PortPublisherOptions): LocalPortPublisher {
  const { host, log } = options;
  const now = options.now ?? (() => new Date());
  const entries = new Map<string, Entry>();

  function carry(entry: Entry, socket: Socket, stream: Duplex): void {
    const number = ++entry.connections;
    const logData = entry.dataLog;
    if (logData) {
      socket.on("data", (chunk: Buffer) => logData.add(number, "up", chunk, now()));
      stream.on("data", (chunk: Buffer) => logData.add(number, "down", chunk, now()));
    }
    // The relay counts the bytes and records the stream; here the two ends are only piped.
    socket.pipe(stream).pipe(socket);
    const end = (): void => {
      socket.destroy();
      // A stream this relay opened on an access node's connection is cancelled, not reset.
      abortStream(stream);
    };
    socket.once("close", end);
    stream.once("close", end);
    stream.on("error", end);
  }

  function accept(entry: Entry, socket: Socket): void {
    socket.on("error", () => {});
    const source = socket.remoteAddress ?? "unknown";
    const { job } = entry;
    if (!sourceAllowed(job.allowFrom, source)) {
      entry.stats.refused++;
      log.info("published port: source outside the whitelist refused", { job: job.name, source, port: job.port });
      socket.resetAndDestroy();
      return;
    }
    socket.setNoDelay(true);
    socket.pause();
    const request = publishStreamRequest(job, source);
    options.openStream(request).then(
      (stream) => {
        entry.stats.accepted++;
        if (socket.destroyed) return void stream.destroy();
        carry(entry, socket, stream);
        socket.resume();
      },
      (err: unknown) => {
        entry.stats.errors++;
        entry.stats.lastError = err instanceof Error ? err.message : String(err);
        log.info("published port: stream refused", { job: job.name, source, error: entry.stats.lastError });
        socket.destroy();
      },
    );
  }

  async function listenTcp(entry: Entry): Promise<Server> {
    // Half-open allowed: a client that ends its side (FIN) still gets the target's answer.
    const server = net.createServer({ allowHalfOpen: true, highWaterMark: STREAM_BUFFER_BYTES }, (socket) => accept(entry, socket));
    await listen(server, entry.job.port, host);
    return server;
  }

  function listenUdp(entry: Entry): Promise<{ close(): void }> {
    return listenUdpJob({
      job: entry.job,
      host,
      stats: entry.stats,
      dataLog: entry.dataLog,
      nextConnection: () => ++entry.connections,
      openStream: options.openStream,
      idleMs: options.udpIdleMs ?? UDP_IDLE_MS,
      log,
      now,
    });
  }

  function stopListening(entry: Entry): void {
    entry.listener?.close();
    entry.listener = undefined;
    entry.stats.listening = false;
  }

  return {
    host,
    range: options.range,
    async open(job) {
      const known = entries.get(job.id);
      const entry: Entry = known ?? {
        job,
        listener: undefined,
        stats: { listening: false, accepted: 0, refused: 0, errors: 0, logBytes: 0 },
        dataLog: job.logData ? new DataLog() : undefined,
        connections: 0,
      };
      if (known) stopListening(known);
      entry.job = job;
      try {
        entry.listener = job.protocol === "udp" ? await listenUdp(entry) : await listenTcp(entry);
      } catch (err) {
        entry.stats.lastError = listenError(err, job, host).message;
        entries.set(job.id, entry);
        throw listenError(err, job, host);
      }
      entry.stats.listening = true;
      entries.set(job.id, entry);
      log.info("published port listening", {
        job: job.name,
        address: formatHostPort({ host, port: job.port }),
        target: streamTargetLabel(job.target, job.protocol),
        device: job.deviceName,
      });
    },
    close(jobId) {
      const entry = entries.get(jobId);
      if (entry) stopListening(entry);
    },
    stats(jobId) {
      const entry = entries.get(jobId);
      return entry && { ...entry.stats, logBytes: entry.dataLog?.size ?? 0 };
    },
    dataLog(jobId) {
      const entry = entries.get(jobId);
      return entry?.dataLog?.format(dataLogTitle(entry.job, host));
    },
    listening() {
      return [...entries.values()].filter((e) => e.stats.listening).map((e) => e.job.id);
    },
    closeAll() {
      for (const entry of entries.values()) stopListening(entry);
    },
  };
}
