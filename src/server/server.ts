import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { type Ca, issueServerCertificate } from "../access/ca.js";
import type { AccessContext } from "../access/context.js";
import { authenticate } from "../access/sessions.js";
import type { Store } from "../access/store/index.js";
import { createStoredWebGrants } from "../access/web-grants.js";
import { findWebTarget } from "../access/web-targets.js";
import type { PortRange } from "../protocol/published-ports.js";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import type { Relay } from "../relay/relay.js";
import type { StreamRate } from "../relay/stream-throttle.js";
import type { KeepaliveOptions } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import { createMetrics } from "../shared/metrics.js";
import { createHmiProxy } from "../web/hmi-proxy.js";
import { createPortalApp } from "../web/portal-app.js";
import { PORTAL_CSP, portalAssetsDir } from "../web/portal-assets.js";
import { createVncBridge } from "../web/vnc-bridge.js";
import { webTargetIdOf } from "../web/web-host.js";
import { createAccessNode } from "./access-node.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { readiness } from "./health.js";
import { startMetricsListener } from "./metrics-listener.js";
import { answerPublishStream } from "./publish-streams.js";
import { startPublishedPorts } from "./published-ports.js";
import { RelayedDataLogs } from "./relayed-data-logs.js";
import { onePortRoutes } from "./router.js";
import { createTlsListener } from "./tls-listener.js";
import { createWebAccess } from "./web-access.js";
import { webCertificates } from "./web-certificates.js";

/** How `fernlink server` was asked to run. */
export interface ServerOptions {
  dataDir: string;
  listen: HostPort;
  hostnames: string[];
  dbUrl?: string | undefined;
  /** On PostgreSQL: the cluster key file, when not DIR/cluster-key. */
  clusterKeyFile?: string | undefined;
  init?: { account: string; user: string; password: string } | undefined;
  log: Logger;
  keepalive?: KeepaliveOptions;
  /** Where to serve Prometheus' /metrics (`--metrics-listen`); none when absent. */
  metricsListen?: HostPort | undefined;
  /** Limits on connections that have not proven who they are; defaults in CONNECTION_LIMITS. */
  limits?: Partial<ConnectionLimits> | undefined;
  /** Domain the portal's HMI host names live under (`w-<id>.<domain>`); default: the first --hostname that is a name. */
  webDomain?: string | undefined;
  /** How fast one user may open streams to one device. */
  streamRate?: StreamRate | undefined;
  /** `--no-relay`: an access node without its own relay; its users' streams go to the relays. */
  noRelay?: boolean | undefined;
  /** The URL other nodes and agents reach this node at (default: from the bound address). */
  publicUrl?: string | undefined;
  /** The name of this node's embedded relay (default: `node-` and a random id). */
  relayName?: string | undefined;
  region?: string | undefined;
  /** `--publish-ports`: the ports of the listen host published ports may use; none when absent. */
  publishPorts?: PortRange | undefined;
}

/** A running server. */
export interface RunningServer {
  url: string;
  address: HostPort;
  ca: Ca;
  store: Store;
  relay: Relay;
  ctx: AccessContext;
  /** True when no account exists yet: the CLI explains how to create one. */
  needsFirstAccount: boolean;
  /** http://HOST:PORT/metrics, with `metricsListen`. */
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** Starts an access node and its embedded relay (unless `noRelay`) on one TLS port. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  const metrics = options.metricsListen ? createMetrics() : undefined;
  const node = await createAccessNode({
    dataDir: options.dataDir,
    dbUrl: options.dbUrl,
    clusterKeyFile: options.clusterKeyFile,
    init: options.init,
    log,
    keepalive: options.keepalive,
    streamRate: options.streamRate,
    relayName: options.relayName ?? `node-${randomUUID().slice(0, 8)}`,
    region: options.region,
    embeddedRelay: !options.noRelay,
    metrics,
  });
  const { ctx, ca, relay } = node;
  try {
    const serverCert = await issueServerCertificate(ca, { hostnames: options.hostnames, now: ctx.now() });
    const webDomain = options.webDomain ?? defaultWebDomain(options.hostnames);
    const grants = createStoredWebGrants({ db: node.store.db, secretKey: ctx.secretKey, now: () => ctx.now().getTime() });
    const relayedLogs = new RelayedDataLogs(ctx.now);
    const webAccess = createWebAccess({ ctx, relay, authority: node.authority, grants, domain: webDomain });
    const hmi = createHmiProxy({ domain: webDomain, grants, resolve: webAccess.resolveHmi, log });
    const vnc = createVncBridge({ checkOrigin: webAccess.checkVncOrigin, authorize: webAccess.authorizeVnc, log });
    const portal = getRequestListener(createPortalApp({ assetsDir: portalAssetsDir(), csp: PORTAL_CSP, launch: webAccess.launch, log }).fetch);
    const ready = readiness({ db: node.store.db, relay: options.noRelay ? undefined : relay });
    const listener = createTlsListener(
      {
        keyPem: serverCert.keyPem,
        certPem: serverCert.certPem,
        caPem: ca.certPem,
        log,
        contextFor: webCertificates(
          ca,
          async (name) => {
            const id = webTargetIdOf(name, webDomain);
            return id !== undefined && (await findWebTarget(ctx, id)) !== undefined;
          },
          ctx.now,
          log,
        ),
        ...(options.limits ? { limits: options.limits } : {}),
        provesSession: async (headers, source) => {
          const token = /^Bearer (\S+)$/i.exec(String(headers.authorization ?? ""))?.[1];
          return authenticate(ctx, token, source, { touch: false }).then(
            () => true,
            () => false,
          );
        },
      },
      onePortRoutes({
        relay,
        acceptsAgents: !options.noRelay,
        relayLinks: node.relayLinks,
        publishStream: (stream, headers) =>
          void answerPublishStream(stream, headers, {
            ctx,
            relayHolds: (relayId, deviceId) => node.relayLinks.relayHolds(relayId, deviceId),
            openStream: (request) => relay.openStream(request),
            // The relay that opened the stream holds the device: its --listen host titles the log.
            logData: (job, fromSource, fromTarget) => relayedLogs.tap(job, node.relayLinks.publishHost(job.deviceId) ?? "?", fromSource, fromTarget),
          }),
        api: getRequestListener(node.api.fetch),
        portal,
        hmi,
        vnc,
        ready,
      }),
    );
    await new Promise<void>((resolve, reject) => {
      listener.server.once("error", reject);
      listener.server.listen(options.listen.port, options.listen.host, () => {
        listener.server.off("error", reject);
        resolve();
      });
    });
    const addr = listener.server.address() as AddressInfo;
    const bound: HostPort = { host: addr.address, port: addr.port };
    const wildcard = addr.address === "0.0.0.0" || addr.address === "::";
    const urlHost = wildcard ? (options.hostnames[0] ?? "localhost") : addr.address;
    const url = `https://${formatHostPort({ host: urlHost, port: addr.port })}`;
    await node.start(options.publicUrl ?? url);
    const scrape = metrics && options.metricsListen ? await startMetricsListener(options.metricsListen, { metrics, log, ready }) : undefined;
    const publisher = await startPublishedPorts({
      ctx,
      relay,
      host: addr.address,
      range: options.publishPorts,
      log,
      embedded: !options.noRelay,
      relayLinks: node.relayLinks,
      relayedLogs,
    });

    return {
      url,
      address: bound,
      ca,
      store: node.store,
      relay,
      ctx,
      needsFirstAccount: node.needsFirstAccount,
      metricsUrl: scrape ? `http://${formatHostPort(scrape.address)}/metrics` : undefined,
      async close() {
        await scrape?.close();
        // Open event streams end now, before their sockets are destroyed below.
        ctx.changes.close();
        const stopped = new Promise<void>((resolve) => listener.server.close(() => resolve()));
        publisher.stop();
        publisher.closeAll();
        vnc.close();
        hmi.close();
        // Tunnels first: their streams end, and the ends are written to the audit.
        await relay.close();
        listener.destroyConnections();
        await stopped;
        await node.close();
      },
    };
  } catch (err) {
    await node.close();
    throw err;
  }
}

/** The HMI hosts' domain when none is given: the first --hostname that is a name, not an address. */
export function defaultWebDomain(hostnames: readonly string[]): string {
  return hostnames.find((name) => isIP(name) === 0) ?? "localhost";
}

/** `--hostname` defaults: the names a local user and agent will use. */
export function defaultHostnames(listenHost: string): string[] {
  const names = ["localhost", "127.0.0.1", "::1"];
  if (listenHost !== "0.0.0.0" && listenHost !== "::" && !names.includes(listenHost)) names.unshift(listenHost);
  return names;
}
