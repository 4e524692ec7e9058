import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import { type PublishJob, type PublishStats, publishStreamRequest, sourceAllowed } from "../protocol/published-ports.js";
import type { StreamRequest } from "../protocol/relay-access.js";
import { DatagramMappings } from "../shared/datagram-mappings.js";
import type { Logger } from "../shared/log.js";
import type { DataLog } from "./data-log.js";

/** Sources whose refused datagrams are logged (the first of each): a flood from outside the whitelist cannot fill the log. */
const MAX_LOGGED_REFUSALS = 100;

/** What the socket of one published UDP port needs from the publisher around it. */
export interface UdpJobDeps {
  job: PublishJob;
  host: string;
  /** The job's counters, shared with the publisher (which owns `listening`). */
  stats: PublishStats;
  dataLog: DataLog | undefined;
  /** The next data connection number of the job (a mapping counts as one). */
  nextConnection(): number;
  openStream(request: StreamRequest): Promise<Duplex>;
  idleMs: number;
  log: Logger;
  now: () => Date;
}

function bind(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

/**
 * The socket of a published UDP port: the first datagram from a source address and port inside
 * the job's whitelist opens that source's stream (a mapping, with the job owner's rights like a
 * TCP connection), later ones reuse it and the target's answers go back to that source; a
 * mapping ends after `idleMs` without a datagram either way. A datagram from outside the
 * whitelist is dropped before any stream opens, and counted. Closing ends every mapping: their
 * answers could no longer go anywhere. Rejects with the bind error (EADDRINUSE, EACCES, …).
 */
export async function listenUdpJob(deps: UdpJobDeps): Promise<{ close(): void }> {
  const { job, stats, dataLog, log, now } = deps;
  const socket = createSocket({ type: isIP(deps.host) === 6 ? "udp6" : "udp4" });
  try {
    await bind(socket, job.port, deps.host);
  } catch (err) {
    socket.close();
    throw err;
  }
  // A send to a source that went away (ICMP port unreachable) must not end the job.
  socket.on("error", () => {});
  // Each mapping's data connection number, for the data log.
  const numbers = new Map<string, number>();
  const refusalsLogged = new Set<string>();
  let closed = false;

  const open = async (key: string): Promise<Duplex> => {
    const number = deps.nextConnection();
    numbers.set(key, number);
    const forget = (): void => {
      if (numbers.get(key) === number) numbers.delete(key);
    };
    const request = publishStreamRequest(job, key.slice(0, key.lastIndexOf("|")));
    try {
      const stream = await deps.openStream(request);
      stats.accepted++;
      stream.once("close", forget);
      return stream;
    } catch (err) {
      forget();
      throw err;
    }
  };
  const mappings = new DatagramMappings({
    open: (_target, key) => open(key),
    idleMs: deps.idleMs,
    onError: (err) => {
      stats.errors++;
      stats.lastError = err instanceof Error ? err.message : String(err);
      log.info("published port: stream refused", { job: job.name, error: stats.lastError });
    },
  });

  socket.on("message", (payload, from) => {
    if (!sourceAllowed(job.allowFrom, from.address)) {
      stats.refused++;
      if (refusalsLogged.size < MAX_LOGGED_REFUSALS && !refusalsLogged.has(from.address)) {
        refusalsLogged.add(from.address);
        log.info("published port: datagrams from a source outside the whitelist dropped", { job: job.name, source: from.address, port: job.port });
      }
      return;
    }
    const key = `${from.address}|${from.port}`;
    mappings.send(key, job.target, payload, (answer) => {
      if (closed) return;
      const number = numbers.get(key);
      if (dataLog && number !== undefined) dataLog.add(number, "down", answer, now());
      socket.send(answer, from.port, from.address);
    });
    const number = numbers.get(key);
    if (dataLog && number !== undefined) dataLog.add(number, "up", payload, now());
  });

  return {
    close() {
      if (closed) return;
      closed = true;
      mappings.closeAll();
      socket.close();
    },
  };
}
