import http2, { type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import type tls from "node:tls";
import { FernlinkError } from "../protocol/errors.js";
import type { PortRange } from "../protocol/published-ports.js";
import { errorResponseHeaders } from "../protocol/stream-headers.js";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { type AccessLink, linkToAccess } from "../relay/access-link.js";
import { createLinkedPublishedPorts } from "../relay/linked-published-ports.js";
import { createRelay } from "../relay/relay.js";
import { loadOrRegisterRelay } from "../relay/relay-state.js";
import type { KeepaliveOptions } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import { createMetrics } from "../shared/metrics.js";
import { readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";
import { startMetricsListener } from "./metrics-listener.js";
import { createRelayListener } from "./relay-listener.js";
import { isAccessNode } from "./router.js";

/** How `fernlink relay run` was asked to run. */
export interface RelayNodeOptions {
  access: string[];
  ca: string | undefined;
  key: string | undefined;
  stateDir: string;
  listen: HostPort;
  /** Where agents and access nodes reach this relay; default https://LISTEN. */
  publicUrl?: string | undefined;
  region?: string | undefined;
  log: Logger;
  keepalive?: KeepaliveOptions;
  /** Where to serve Prometheus' /metrics (`--metrics-listen`); none when absent. */
  metricsListen?: HostPort | undefined;
  /** `--publish-ports`: the ports of the --listen host the published ports of devices held here may use. */
  publishPorts?: PortRange | undefined;
}

/** A running relay. */
export interface RunningRelay {
  url: string;
  name: string;
  registered: boolean;
  /** http://HOST:PORT/metrics, with `metricsListen`. */
  metricsUrl: string | undefined;
  /** Settles when the relay is done: drained, or refused by the access service (rejects). */
  finished: Promise<void>;
  close(): Promise<void>;
}

const NO_USERS = new FernlinkError("forbidden", "users open streams through an access node, not on a relay");

/**
 * `fernlink relay run`: registers once, then holds agents' tunnels and carries the streams
 * access nodes forward to it. Every peer proves itself with a certificate from the service's
 * CA, on the port or inside the WebSocket transport (relay-listener.ts): agents
 * (`fernlink-agent/1`, checked against the store through the access link) and access nodes
 * (`h2`, a node certificate). It never reads the store.
 */
export async function startRelayNode(options: RelayNodeOptions): Promise<RunningRelay> {
  const { log } = options;
  const url = options.publicUrl ?? `https://${formatHostPort(options.listen)}`;
  const { state, registered } = await loadOrRegisterRelay(options.stateDir, {
    access: options.access[0]!,
    ca: options.ca,
    key: options.key,
    url,
    region: options.region,
  });
  let link: AccessLink | undefined;
  let finish: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const finished = new Promise<void>((resolve, reject) => (finish = { resolve, reject }));
  const relay = createRelay({
    id: state.config.relayId,
    authority: {
      authenticate: () => Promise.reject(NO_USERS),
      authorize: () => Promise.reject(NO_USERS),
      record: () => {},
    },
    authenticateAgent: (peer) => link!.checkAgent(peer),
    log,
    ...(options.keepalive ? { keepalive: options.keepalive } : {}),
  });

  const h2 = http2.createServer(TUNNEL_SESSION_OPTIONS);
  h2.on("session", (session: ServerHttp2Session) => readyTunnelSession(session));
  h2.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    if (headers[":method"] === "CONNECT" && isAccessNode(stream.session?.socket as tls.TLSSocket | undefined))
      return relay.handleForwardedStream(stream, headers);
    stream.respond(errorResponseHeaders(NO_USERS), { endStream: true });
  });
  const server = createRelayListener(
    { keyPem: state.keyPem, certPem: state.certPem, caPem: state.caPem, log },
    {
      agent: (socket) => relay.acceptAgentSocket(socket),
      peer: (socket) => void h2.emit("connection", socket),
      // Shown a certificate already: nothing to prove.
      lane: (socket) => relay.acceptLaneSocket(socket, () => {}),
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const servedAt = options.publicUrl ?? `https://${formatHostPort({ host: addr.address, port: addr.port })}`;

  const metrics = options.metricsListen ? createMetrics() : undefined;
  metrics?.watchRelay({
    name: state.config.name,
    region: options.region ?? state.config.region,
    agents: () => relay.registry.list().length,
    load: () => relay.load(),
  });
  // Ready: linked to an access node (agents' certificates can be checked) and taking agents.
  const published = createLinkedPublishedPorts({
    host: addr.address,
    range: options.publishPorts,
    openStream: (request) => link!.openPublishStream(request),
    log,
  });
  const ready = async (): Promise<boolean> => link?.linked() === true && !relay.draining;
  const scrape = metrics && options.metricsListen ? await startMetricsListener(options.metricsListen, { metrics, log, ready }) : undefined;
  const close = async (): Promise<void> => {
    link?.close();
    published.closeAll();
    server.close();
    await Promise.all([relay.close(), scrape?.close()]);
  };
  link = linkToAccess({
    access: options.access,
    keyPem: state.keyPem,
    certPem: state.certPem,
    caPem: state.caPem,
    url: servedAt,
    region: options.region ?? state.config.region,
    relay,
    log,
    onRefused: (err) => {
      void close().then(() => finish?.reject(err));
    },
    onPublish: (jobs) => published.follow(jobs),
    published: () => published.stats(),
    onDrain: (deadlineMs) => {
      if (relay.draining) return;
      log.info("draining: agents are asked to move", { agents: relay.registry.list().length, deadlineMs });
      void relay.drain(deadlineMs).then(async () => {
        log.info("drained");
        await close();
        finish?.resolve();
      });
    },
  });
  await Promise.race([link.ready, finished]);
  const metricsUrl = scrape ? `http://${formatHostPort(scrape.address)}/metrics` : undefined;
  return { url: servedAt, name: state.config.name, registered, metricsUrl, finished, close };
}
