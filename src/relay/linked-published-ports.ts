import type { Duplex } from "node:stream";
import { errorMessage } from "../protocol/errors.js";
import type { PortRange, PublishJob } from "../protocol/published-ports.js";
import type { StreamRequest } from "../protocol/relay-access.js";
import type { LinkPublishStats } from "../protocol/relay-link.js";
import type { Logger } from "../shared/log.js";
import { createPortPublisher } from "./published-ports.js";

/** The published ports of a separate relay (`relay run --publish-ports`), as its access link drives them. */
export interface LinkedPublishedPorts {
  /** Takes the access node's full list of jobs: listens for the new ones, closes the ones gone; settles once done. */
  follow(jobs: PublishJob[]): Promise<void>;
  /** The counters of every job listened for since start, for the access node's live tables. */
  stats(): { host: string; jobs: LinkPublishStats[] };
  closeAll(): void;
}

/**
 * Listens on the relay's --listen host for the jobs of the devices it holds. Every accepted
 * connection is opened through the access link (`openStream`), so the access service stays the
 * only authority; a job outside `range` or whose port is taken is logged once, and reported as
 * not listening with its error.
 */
export function createLinkedPublishedPorts(options: {
  host: string;
  range: PortRange | undefined;
  openStream: (request: StreamRequest) => Promise<Duplex>;
  log: Logger;
}): LinkedPublishedPorts {
  const { host, range, log } = options;
  const publisher = createPortPublisher({ host, range, openStream: options.openStream, log });
  const known = new Map<string, PublishJob>();
  const failures = new Map<string, string>();
  // Lists are applied one after another: a listener being opened is not opened twice.
  let queue = Promise.resolve();

  const apply = async (jobs: PublishJob[]): Promise<void> => {
    const ids = new Set(jobs.map((j) => j.id));
    for (const id of publisher.listening()) if (!ids.has(id)) publisher.close(id);
    for (const id of [...known.keys()]) if (!ids.has(id)) known.delete(id);
    for (const job of jobs) {
      const before = known.get(job.id);
      known.set(job.id, job);
      const listening = publisher.stats(job.id)?.listening === true;
      if (listening && before && JSON.stringify(before) === JSON.stringify(job)) continue;
      if (range === undefined || job.port < range.low || job.port > range.high) {
        if (listening) publisher.close(job.id);
        const reason =
          range === undefined ? "this relay publishes no ports; start it with --publish-ports LOW-HIGH" : `port ${job.port} is outside --publish-ports`;
        if (failures.get(job.id) !== reason) log.warn("published port not opened", { job: job.name, port: job.port, reason });
        failures.set(job.id, reason);
        continue;
      }
      try {
        // No data log here: the access node keeps it, since each connection's bytes pass through
        // its CONNECT stream (server/relayed-data-logs.ts); a copy here could never be read.
        await publisher.open({ ...job, logData: false });
        failures.delete(job.id);
      } catch (err) {
        if (failures.get(job.id) !== errorMessage(err)) log.error("published port not opened", { job: job.name, error: errorMessage(err) });
        failures.set(job.id, errorMessage(err));
      }
    }
  };

  return {
    follow(jobs) {
      queue = queue.then(() => apply(jobs)).catch((err: unknown) => log.error("published ports not applied", { error: errorMessage(err) }));
      return queue;
    },
    stats() {
      const jobs: LinkPublishStats[] = [];
      for (const job of known.values()) {
        const stats = publisher.stats(job.id);
        const lastError = failures.get(job.id) ?? stats?.lastError;
        jobs.push({
          jobId: job.id,
          listening: stats?.listening ?? false,
          accepted: stats?.accepted ?? 0,
          refused: stats?.refused ?? 0,
          errors: stats?.errors ?? 0,
          ...(lastError !== undefined ? { lastError: lastError.slice(0, 500) } : {}),
          logBytes: stats?.logBytes ?? 0,
        });
      }
      return { host, jobs };
    },
    closeAll: () => publisher.closeAll(),
  };
}
