import type { AccessContext } from "../access/context.js";
import { publishJob } from "../access/published-ports.js";
import { listActivePublishedPorts } from "../access/store/published-ports.js";
import { errorMessage } from "../protocol/errors.js";
import { formatPortRange, type PortRange, type PublishJob } from "../protocol/published-ports.js";
import { createPortPublisher, type LocalPortPublisher } from "../relay/published-ports.js";
import type { Relay } from "../relay/relay.js";
import type { Logger } from "../shared/log.js";
import type { RelayLinks } from "./relay-links.js";
import type { RelayedDataLogs } from "./relayed-data-logs.js";

/** How often a node of a cluster moves listeners to where their devices are. */
export const PUBLISH_RECONCILE_MS = 2_000;

/** What a node running published ports needs. */
export interface PublishedPortsDeps {
  ctx: AccessContext;
  relay: Relay;
  host: string;
  range: PortRange | undefined;
  log: Logger;
  /** False with `--no-relay`: this node listens for no job itself. */
  embedded: boolean;
  /** Separate relays linked here: each listens for the jobs of the devices it holds. */
  relayLinks: RelayLinks;
  /** The data logs of the connections a linked relay accepted, kept as they pass through this node. */
  relayedLogs: RelayedDataLogs;
}

/**
 * Opens the listeners of the active published ports on the host the server listens on, and
 * hands the publisher to the access service for the jobs made from now on. A job that cannot
 * listen (its port taken, or outside the range) is logged and shown in `publish list`.
 *
 * In a cluster a job follows its device: every PUBLISH_RECONCILE_MS each node listens for the
 * active jobs whose device's tunnel is on its own relay and closes the others (a job paused,
 * removed or moved elsewhere), so one node listens per job even when nodes share a host.
 * A device held by a separate relay linked here (`relay run`) is that relay's to listen for:
 * every PUBLISH_RECONCILE_MS it gets the list of its devices' jobs when the list changed, and
 * its counters come back with its load for `publish list`, and its data log is the one this node
 * kept of the connections it carried for that relay (relayed-data-logs.ts).
 */
export async function startPublishedPorts(deps: PublishedPortsDeps): Promise<LocalPortPublisher & { stop(): void }> {
  const { ctx, relay, range, log } = deps;
  const { relayLinks, embedded, relayedLogs } = deps;
  const local = createPortPublisher({ host: deps.host, range, openStream: (request) => relay.openStream(request), log, now: ctx.now });
  const elsewhere = (deviceId: string): boolean => !embedded || relayLinks.holds(deviceId);
  const publisher: LocalPortPublisher = {
    host: deps.host,
    range,
    // A job whose device a linked relay holds is sent there by the next reconcile.
    open: (job) => (elsewhere(job.deviceId) ? Promise.resolve() : local.open(job)),
    close: (jobId) => local.close(jobId),
    stats: (jobId) => {
      const here = local.stats(jobId);
      const linked = here?.listening ? undefined : relayLinks.publishedStats(jobId);
      return linked ? { ...linked.stats, logBytes: relayedLogs.size(jobId) } : here;
    },
    hostFor: (deviceId) => (embedded && !relayLinks.holds(deviceId) ? deps.host : (relayLinks.publishHost(deviceId) ?? deps.host)),
    // The log of whichever listener has the job now; one that moved keeps the other's until restart.
    dataLog: (jobId) => (local.stats(jobId)?.listening ? local.dataLog(jobId) : (relayedLogs.format(jobId) ?? local.dataLog(jobId))),
    listening: () => local.listening(),
    closeAll: () => local.closeAll(),
  };
  ctx.publisher = publisher;
  const clustered = ctx.cluster !== undefined;
  // The last failure logged per job, so a port that stays taken is logged once, not every round.
  const failures = new Map<string, string>();
  const listenable = (job: PublishJob): boolean => range !== undefined && job.port >= range.low && job.port <= range.high;
  const open = async (job: PublishJob): Promise<void> => {
    try {
      await publisher.open(job);
      failures.delete(job.id);
    } catch (err) {
      if (failures.get(job.id) !== errorMessage(err)) log.error("published port not opened", { job: job.name, error: errorMessage(err) });
      failures.set(job.id, errorMessage(err));
    }
  };
  const jobs = (await listActivePublishedPorts(ctx.db)).map(publishJob);
  for (const job of jobs) {
    if (!listenable(job)) {
      log.warn("published port not opened: its port is outside --publish-ports", { job: job.name, port: job.port, range: formatPortRange(range) });
      continue;
    }
    if (elsewhere(job.deviceId)) continue;
    if (!clustered || relay.registry.get(job.deviceId)) await open(job);
  }
  let running = false;
  // Jobs a linked relay listened for: on a single node they are opened here again once it lets go.
  const handedOff = new Set<string>();
  const reconcile = async (): Promise<void> => {
    const active = (await listActivePublishedPorts(ctx.db)).map(publishJob);
    const ids = new Set(active.map((j) => j.id));
    for (const id of local.listening()) if (!ids.has(id)) local.close(id);
    relayLinks.sendJobs(active);
    for (const job of active) {
      const listening = local.stats(job.id)?.listening === true;
      if (elsewhere(job.deviceId)) {
        if (listening) local.close(job.id);
        handedOff.add(job.id);
        continue;
      }
      // A single node listens for every job from the start (and when it comes back from a
      // linked relay); a node of a cluster for the jobs whose device's tunnel is on its relay.
      const here = listenable(job) && (clustered ? relay.registry.get(job.deviceId) !== undefined : handedOff.has(job.id));
      handedOff.delete(job.id);
      if (here && !listening) await open(job);
      else if (clustered && !here && listening) local.close(job.id);
    }
  };
  // On a single node with no relay linked this only keeps an empty list; it reads one small table.
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void ctx.work
      .track(reconcile())
      .catch((err: unknown) => log.error("cannot read the published ports", { error: errorMessage(err) }))
      .finally(() => (running = false));
  }, PUBLISH_RECONCILE_MS);
  timer.unref();
  return Object.assign(publisher, { stop: () => clearInterval(timer) });
}
