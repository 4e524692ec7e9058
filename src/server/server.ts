import { randomUUID } from "node:crypto";
import http from "node:http";
import http2 from "node:http2";
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { getRequestListener } from "@hono/node-server";
import { createApiApp } from "../access/api/app.js";
import { auditAggregate } from "../access/audit-log.js";
import { RefusalAggregator } from "../access/refusal-aggregator.js";
import { createStoredWebGrants } from "../access/web-grants.js";
import { openServerKeys } from "../access/shared-keys.js";
import { sealStoredTotpSecrets } from "../access/totp-secrets.js";
import { issueServerCertificate, type Ca } from "../access/ca.js";
import type { AccessContext, RelayEndpoint } from "../access/context.js";
import { authenticateAgent } from "../access/registration.js";
import { loginCheckLimit } from "../access/login-guard.js";
import { authenticate, initAccount } from "../access/sessions.js";
import { openDatabase, type Store } from "../access/store/index.js";
import { countAccounts } from "../access/store/accounts.js";
import { createStreamAuthority } from "../access/stream-authority.js";
import { watchSessionStreams } from "../access/session-streams.js";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { BackgroundWork } from "../shared/background-work.js";
import type { KeepaliveOptions } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import { deviceIdFromCertificate, serialOf } from "../shared/pki.js";
import { createRelay, type Relay } from "../relay/relay.js";
import type { StreamRate } from "../relay/stream-throttle.js";
import { trackPresence } from "./presence-tracker.js";
import { nodeLinks } from "./cluster-node.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { createTlsListener } from "./tls-listener.js";
import { webCertificates } from "./web-certificates.js";
import { findWebTarget } from "../access/web-targets.js";
import { createWebAccess } from "./web-access.js";
import { createHmiProxy } from "../web/hmi-proxy.js";
import { createPortalApp } from "../web/portal-app.js";
import { PORTAL_CSP, portalAssetsDir } from "../web/portal-assets.js";
import { createVncBridge } from "../web/vnc-bridge.js";
import { strictTransportSecurity, webTargetIdOf } from "../web/web-host.js";
import { isIP } from "node:net";

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
  /** Limits on connections that have not proven who they are; defaults in CONNECTION_LIMITS. */
  limits?: Partial<ConnectionLimits> | undefined;
  /** Domain the portal's HMI host names live under (`w-<id>.<domain>`); default: the first --hostname that is a name. */
  webDomain?: string | undefined;
  /** How fast one user may open streams to one device. */
  streamRate?: StreamRate | undefined;
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
  close(): Promise<void>;
}

function relayEndpoint(relay: Relay, bound: HostPort, requestHost: string | undefined): RelayEndpoint {
  // The agent reached the API through `requestHost`; the embedded relay is on that same port.
  const match = requestHost ? /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(requestHost) : null;
  if (match) return { id: relay.id, host: match[1]!.replace(/^\[|\]$/g, ""), port: match[2] ? Number(match[2]) : 443 };
  return { id: relay.id, host: bound.host, port: bound.port };
}

/** Starts access service and embedded relay on one TLS port. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const store = await openDatabase({ dataDir: options.dataDir, ...(options.dbUrl ? { url: options.dbUrl } : {}) });
  try {
    const now = (): Date => new Date();
    const { ca, auditKey, secretKey } = await openServerKeys({ dataDir: options.dataDir, store, clusterKeyFile: options.clusterKeyFile, log, now: now() });
    await sealStoredTotpSecrets(store.db, secretKey, log);
    const serverCert = await issueServerCertificate(ca, { hostnames: options.hostnames, now: now() });
    let bound: HostPort = options.listen;
    // The relay and the access service need each other; the closures below run only
    // after both exist.
    const relay = createRelay({
      id: `relay-${randomUUID().slice(0, 8)}`,
      authority: {
        authenticate: (r) => authority.authenticate(r),
        authorize: (who, r) => authority.authorize(who, r),
        record: (e) => authority.record(e),
      },
      authenticateAgent: (peer) => authenticateAgent(ctx, peer),
      peerIdentity: (socket: TLSSocket) => {
        const cert = socket.getPeerCertificate();
        return cert?.serialNumber ? { serial: serialOf(cert), deviceId: deviceIdFromCertificate(cert) } : undefined;
      },
      log,
      ...(options.keepalive ? { keepalive: options.keepalive } : {}),
      ...(options.streamRate ? { streamRate: options.streamRate } : {}),
    });
    const work = new BackgroundWork();
    const links = nodeLinks({ store, dbUrl: options.dbUrl, relay, log, now, work });
    const ctx: AccessContext = {
      db: store.db,
      ca,
      presence: links.presence,
      assignRelay: (_deviceId, requestHost) => relayEndpoint(relay, bound, requestHost),
      now,
      log,
      work,
      auditKey,
      secretKey,
      changes: links.changes,
      ...(links.cluster ? { cluster: links.cluster } : {}),
      loginChecks: loginCheckLimit(),
      refusals: new RefusalAggregator((r) => auditAggregate(ctx, r)),
    };
    const authority = createStreamAuthority(ctx);
    const stopTracking = trackPresence(ctx, relay);
    const stopWatchingSessions = watchSessionStreams(ctx);
    await links.start(ctx);

    if (options.init) {
      const result = await initAccount(ctx, options.init);
      log.info(result === "created" ? "account created" : "account exists, --init-account ignored", { account: options.init.account, user: options.init.user });
    }
    const needsFirstAccount = (await countAccounts(store.db)) === 0;

    const webDomain = options.webDomain ?? defaultWebDomain(options.hostnames);
    const grants = createStoredWebGrants({ db: store.db, secretKey, now: () => now().getTime() });
    const webAccess = createWebAccess({ ctx, relay, authority, grants, domain: webDomain });
    const hmi = createHmiProxy({ domain: webDomain, grants, resolve: webAccess.resolveHmi, log });
    const vnc = createVncBridge({ checkOrigin: webAccess.checkVncOrigin, authorize: webAccess.authorizeVnc, log });
    const api = getRequestListener(createApiApp(ctx).fetch);
    const portal = getRequestListener(createPortalApp({ assetsDir: portalAssetsDir(), csp: PORTAL_CSP, launch: webAccess.launch, log }).fetch);
    // One port: HMI host names go to the HMI proxy, /api/ to the REST API, the rest is the portal.
    const onRequest = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void => {
      if (hmi.owns(req)) return hmi.handle(req, res);
      const hsts = strictTransportSecurity((req.headers as Record<string, string | undefined>)[":authority"] ?? req.headers.host ?? "");
      if (hsts) res.setHeader("strict-transport-security", hsts);
      const handler = (req.url ?? "").startsWith("/api/") ? api : portal;
      void handler(req as http.IncomingMessage, res as http.ServerResponse);
    };
    const listener = createTlsListener(
      {
        keyPem: serverCert.keyPem,
        certPem: serverCert.certPem,
        caPem: ca.certPem,
        log,
        contextFor: webCertificates(ca, async (name) => {
          const id = webTargetIdOf(name, webDomain);
          return id !== undefined && (await findWebTarget(ctx, id)) !== undefined;
        }, now, log),
        ...(options.limits ? { limits: options.limits } : {}),
        provesSession: async (headers, source) => {
          const token = /^Bearer (\S+)$/i.exec(String(headers.authorization ?? ""))?.[1];
          return authenticate(ctx, token, source, { touch: false }).then(() => true, () => false);
        },
      },
      {
        agent: (s) => relay.acceptAgentSocket(s),
        request: onRequest,
        connect: (req) => relay.handleClientStream(req.stream, req.headers, req.socket.remoteAddress ?? "unknown"),
        // Browsers open WebSockets over HTTP/1.1: HMI pages' own, and the portal's VNC viewer.
        upgrade: (req, socket, head) => {
          if (hmi.owns(req)) return hmi.handleUpgrade(req, socket, head);
          if (vnc.match(req.url) !== undefined) return vnc.handleUpgrade(req, socket, head);
          socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n");
        },
      },
    );
    await new Promise<void>((resolve, reject) => {
      listener.server.once("error", reject);
      listener.server.listen(options.listen.port, options.listen.host, () => {
        listener.server.off("error", reject);
        resolve();
      });
    });
    const addr = listener.server.address() as AddressInfo;
    bound = { host: addr.address, port: addr.port };
    const wildcard = addr.address === "0.0.0.0" || addr.address === "::";
    const urlHost = wildcard ? (options.hostnames[0] ?? "localhost") : addr.address;
    const url = `https://${formatHostPort({ host: urlHost, port: addr.port })}`;


    return {
      url,
      address: bound,
      ca,
      store,
      relay,
      ctx,
      needsFirstAccount,
      async close() {
        stopWatchingSessions();
        // Open event streams end now, before their sockets are destroyed below.
        ctx.changes.close();
        const stopped = new Promise<void>((resolve) => listener.server.close(() => resolve()));
        // Tunnels first: their streams end, and the ends are written to the audit.
        vnc.close();
        hmi.close();
        await relay.close();
        listener.destroyConnections();
        await stopped;
        // Refusals still being counted are written before the store closes.
        ctx.refusals.flush();
        await links.close();
        await ctx.work.drain(3000);
        stopTracking();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
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
