import type { AccessContext } from "../access/context.js";
import { publishJob } from "../access/published-ports.js";
import { listActivePublishedPorts } from "../access/store/published-ports.js";
import { formatPortRange, type PortRange } from "../protocol/published-ports.js";
import { createPortPublisher, type LocalPortPublisher } from "../relay/published-ports.js";
import type { Relay } from "../relay/relay.js";
import type { Logger } from "../shared/log.js";

/**
 * Opens the listeners of the active published ports on the host the server listens on, and
 * hands the publisher to the access service for the jobs made from now on. A job that cannot
 * listen (its port taken, or outside the range) is logged and shown in `publish list`.
 */
export async function startPublishedPorts(deps: {
  ctx: AccessContext;
  relay: Relay;
  host: string;
  range: PortRange | undefined;
  log: Logger;
}): Promise<LocalPortPublisher> {
  const { ctx, relay, range, log } = deps;
  const publisher = createPortPublisher({ host: deps.host, range, openStream: (request) => relay.openStream(request), log, now: ctx.now });
  ctx.publisher = publisher;
  const jobs = (await listActivePublishedPorts(ctx.db)).map(publishJob);
  for (const job of jobs) {
    if (range === undefined || job.port < range.low || job.port > range.high) {
      log.warn("published port not opened: its port is outside --publish-ports", { job: job.name, port: job.port, range: formatPortRange(range) });
      continue;
    }
    await publisher.open(job).catch((err: unknown) => log.error("published port not opened", { job: job.name, error: String(err) }));
  }
  return publisher;
}
