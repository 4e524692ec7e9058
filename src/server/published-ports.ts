import type { AccessContext } from "../access/context.js";
import { publishJob } from "../access/published-ports.js";
import { listActivePublishedPorts } from "../access/store/published-ports.js";
import { errorMessage } from "../protocol/errors.js";
import { formatPortRange, type PortRange, type PublishJob } from "../protocol/published-ports.js";
import { createPortPublisher, type LocalPortPublisher } from "../relay/published-ports.js";
import type { Relay } from "../relay/relay.js";
import type { Logger } from "../shared/log.js";

/** How often a node of a cluster moves listeners to where their devices are. */
export const PUBLISH_RECONCILE_MS = 2_000;

/** What a node running published ports needs. */
export interface PublishedPortsDeps {
  ctx: AccessContext;
  relay: Relay;
  host: string;
  range: PortRange | undefined;
  log: Logger;
}

/**
 * Opens the listeners of the active published ports on the host the server listens on, and
 * hands the publisher to the access service for the jobs made from now on. A job that cannot
 * listen (its port taken, or outside the range) is logged and shown in `publish list`.
 *
 * In a cluster a job follows its device: every PUBLISH_RECONCILE_MS each node listens for the
 * active jobs whose device's tunnel is on its own relay and closes the others (a job paused,
 * removed or moved elsewhere), so one node listens per job even when nodes share a host.
 */
export async function startPublishedPorts(deps: PublishedPortsDeps): Promise<LocalPortPublisher & { stop(): void }> {
  const { ctx, relay, range, log } = deps;
  const publisher = createPortPublisher({ host: deps.host, range, openStream: (request) => relay.openStream(request), log, now: ctx.now });
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
    if (!clustered || relay.registry.get(job.deviceId)) await open(job);
  }
  let running = false;
  const reconcile = async (): Promise<void> => {
    const active = (await listActivePublishedPorts(ctx.db)).map(publishJob);
    const ids = new Set(active.map((j) => j.id));
    for (const id of publisher.listening()) if (!ids.has(id)) publisher.close(id);
    for (const job of active) {
      const here = listenable(job) && relay.registry.get(job.deviceId) !== undefined;
      const listening = publisher.stats(job.id)?.listening === true;
      if (here && !listening) await open(job);
      else if (!here && listening) publisher.close(job.id);
    }
  };
  const timer = clustered
    ? setInterval(() => {
        if (running) return;
        running = true;
        void ctx.work
          .track(reconcile())
          .catch((err: unknown) => log.error("cannot read the published ports", { error: errorMessage(err) }))
          .finally(() => (running = false));
      }, PUBLISH_RECONCILE_MS)
    : undefined;
  timer?.unref();
  return Object.assign(publisher, { stop: () => clearInterval(timer) });
}
