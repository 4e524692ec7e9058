import { watchAccountStates } from "../access/account-watch.js";
import { createApiApp } from "../access/api/app.js";
import { auditAggregate } from "../access/audit-log.js";
import { type Ca, issueNodeCertificate } from "../access/ca.js";
import type { AccessContext, RelayEndpoint } from "../access/context.js";
import { loginCheckLimit } from "../access/login-guard.js";
import { createNotifyWorker, type NotifyWorkerOptions } from "../access/notify-worker.js";
import { RefusalAggregator } from "../access/refusal-aggregator.js";
import { authenticateAgent } from "../access/registration.js";
import { RelayDirectory } from "../access/relay-directory.js";
import { watchSessionStreams } from "../access/session-streams.js";
import { initAccount } from "../access/sessions.js";
import { openServerKeys } from "../access/shared-keys.js";
import { countAccounts } from "../access/store/accounts.js";
import { openDatabase, type Store } from "../access/store/index.js";
import { beatRelay, pruneNodeRelays, putNodeRelay, relayGone } from "../access/store/relays.js";
import { createStreamAuthority } from "../access/stream-authority.js";
import { sealStoredTotpSecrets } from "../access/totp-secrets.js";
import type { StreamAuthority } from "../protocol/relay-access.js";
import { PeerRelays } from "../relay/peer-relays.js";
import { createRelay, type Relay } from "../relay/relay.js";
import type { StreamRate } from "../relay/stream-throttle.js";
import { BackgroundWork } from "../shared/background-work.js";
import { ensureDataDir } from "../shared/files.js";
import type { KeepaliveOptions } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import type { Metrics } from "../shared/metrics.js";
import { type NodeLinks, nodeLinks } from "./cluster-node.js";
import { trackPresence } from "./presence-tracker.js";
import { createRelayLinks, type RelayLinks } from "./relay-links.js";
import { TunnelBoard } from "./tunnel-board.js";

/** How an access node was asked to run. */
export interface AccessNodeOptions {
  dataDir: string;
  dbUrl?: string | undefined;
  clusterKeyFile?: string | undefined;
  init?: { account: string; user: string; password: string } | undefined;
  log: Logger;
  keepalive?: KeepaliveOptions | undefined;
  streamRate?: StreamRate | undefined;
  /** This node's id and the name of its embedded relay. */
  relayName: string;
  region?: string | undefined;
  /** False with `--no-relay`: agents are never sent here. */
  embeddedRelay: boolean;
  /** The Prometheus metrics, with `--metrics-listen`. */
  metrics?: Metrics | undefined;
  /** How the notification worker polls and retries (tests shorten it). */
  notify?: NotifyWorkerOptions | undefined;
}

/** An access node: store, keys, access service, its relay (embedded, or only forwarding), relay links. */
export interface AccessNode {
  store: Store;
  ca: Ca;
  ctx: AccessContext;
  relay: Relay;
  authority: StreamAuthority;
  board: TunnelBoard;
  directory: RelayDirectory;
  relayLinks: RelayLinks;
  api: ReturnType<typeof createApiApp>;
  needsFirstAccount: boolean;
  /** Records the URL the node serves on, once it listens, and starts its timers. */
  start(url: string): Promise<void>;
  close(): Promise<void>;
}

/** How often a node reads the relays table and renews its own relay's row. */
const DIRECTORY_REFRESH_MS = 1_000;
/** Rows of nodes' embedded relays not renewed for this long are deleted. */
const NODE_RELAY_PRUNE_MS = 60_000;

/** The host an agent used to reach us, where our embedded relay is too. */
function hostOf(requestHost: string | undefined): { host: string; port: number } | undefined {
  const match = requestHost ? /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(requestHost) : null;
  return match ? { host: match[1]!.replace(/^\[|\]$/g, ""), port: match[2] ? Number(match[2]) : 443 } : undefined;
}

/** Builds an access node on its store; nothing listens yet. */
export async function createAccessNode(options: AccessNodeOptions): Promise<AccessNode> {
  const { log } = options;
  await ensureDataDir(options.dataDir);
  const store = await openDatabase({ dataDir: options.dataDir, ...(options.dbUrl ? { url: options.dbUrl } : {}), onQuery: options.metrics?.storeQuery });
  try {
    const now = (): Date => new Date();
    const { ca, auditKey, secretKey } = await openServerKeys({ dataDir: options.dataDir, store, clusterKeyFile: options.clusterKeyFile, log, now: now() });
    await sealStoredTotpSecrets(store.db, secretKey, log);
    const nodeCert = await issueNodeCertificate(ca, { nodeId: options.relayName.replace(/[^A-Za-z0-9._-]/g, "-"), now: now() });
    const directory = new RelayDirectory(store.db, now);
    const board = new TunnelBoard();
    const peers = new PeerRelays({ keyPem: nodeCert.keyPem, certPem: nodeCert.certPem, caPem: ca.certPem }, log);
    const names = (relayId: string): string => directory.get(relayId)?.name ?? relayId;
    let ctx: AccessContext | undefined;
    const context = (): AccessContext => ctx!;
    let presenceOf: NodeLinks["presence"] | undefined;
    // The relay and the access service need each other; the closures below run only after both exist.
    const relay = createRelay({
      id: options.relayName,
      authority: {
        authenticate: (r) => authority.authenticate(r),
        authorize: (who, r) => authority.authorize(who, r),
        record: (e) => authority.record(e),
      },
      authenticateAgent: (peer) => authenticateAgent(context(), peer),
      log,
      // A device not connected here: open its streams on the relay that holds it.
      forward: (deviceId, deviceName) => {
        const relayId = board.find(deviceId)?.relayId ?? presenceOf?.status(deviceId)?.relayId;
        const url = relayId === undefined ? undefined : directory.get(relayId)?.url;
        return url ? peers.opener(url, deviceId, deviceName) : undefined;
      },
      ...(options.keepalive ? { keepalive: options.keepalive } : {}),
      ...(options.streamRate ? { streamRate: options.streamRate } : {}),
    });
    if (options.embeddedRelay) board.add(relay.registry);
    const work = new BackgroundWork();
    const links = nodeLinks({ store, dbUrl: options.dbUrl, relay, board, names, log, now, work });
    presenceOf = links.presence;
    let url = "";
    const c: AccessContext = {
      db: store.db,
      ca,
      presence: links.presence,
      assignRelay: (_deviceId, requestHost, region) =>
        directory.assign(region).map((e): RelayEndpoint => {
          // Our own relay is where the agent reached us; another's is at its URL.
          const at = e.id === relay.id ? (hostOf(requestHost) ?? hostOf(new URL(e.url!).host)!) : hostOf(new URL(e.url!).host)!;
          return { id: e.id, name: e.name, ...at };
        }),
      now,
      log,
      work,
      auditKey,
      secretKey,
      changes: links.changes,
      ...(links.cluster ? { cluster: links.cluster } : {}),
      loginChecks: loginCheckLimit(),
      refusals: new RefusalAggregator((r) => auditAggregate(c, r)),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      recordings: relay.recordings,
    };
    ctx = c;
    const plainAuthority = createStreamAuthority(c);
    const authority = options.metrics ? options.metrics.instrumentAuthority(plainAuthority) : plainAuthority;
    options.metrics?.watchRelay({
      ...(options.embeddedRelay ? { name: options.relayName, region: options.region } : {}),
      agents: () => relay.registry.list().length,
      load: () => relay.load(),
    });
    const relayLinks = createRelayLinks(context, board, directory);
    let closing = false;
    const stopTracking = trackPresence(c, board, names, () => closing);
    const stopWatchingSessions = watchSessionStreams(c);
    const stopWatchingAccounts = watchAccountStates(c);
    const notifier = createNotifyWorker(c, options.notify);
    await links.start(c);

    if (options.init) {
      const result = await initAccount(c, options.init);
      log.info(result === "created" ? "account created" : "account exists, --init-account ignored", { account: options.init.account, user: options.init.user });
    }
    const needsFirstAccount = (await countAccounts(store.db)) === 0;
    let timer: NodeJS.Timeout | undefined;
    let refreshing = false;
    const region = options.region ?? null;
    const renew = async (): Promise<void> => {
      if (options.embeddedRelay) {
        await putNodeRelay(store.db, { id: relay.id, name: options.relayName, url, region, now: now() });
        await beatRelay(store.db, relay.id, { now: now(), ...relay.load() });
      }
      await pruneNodeRelays(store.db, new Date(now().getTime() - NODE_RELAY_PRUNE_MS));
      await directory.refresh();
      relayLinks.checkDrains();
    };

    return {
      store,
      ca,
      ctx: c,
      relay,
      authority,
      board,
      directory,
      relayLinks,
      api: createApiApp(c),
      needsFirstAccount,
      async start(servedAt) {
        url = servedAt;
        await renew();
        notifier.start();
        timer = setInterval(() => {
          if (refreshing) return;
          refreshing = true;
          void work
            .track(renew())
            .catch((err: unknown) => log.error("cannot read the relays", { error: String(err) }))
            .finally(() => (refreshing = false));
        }, DIRECTORY_REFRESH_MS);
        timer.unref();
      },
      async close() {
        closing = true;
        clearInterval(timer);
        stopWatchingSessions();
        stopWatchingAccounts();
        await notifier.stop();
        // Open event streams end now, before their sockets are destroyed.
        c.changes.close();
        relayLinks.close();
        await relay.close();
        // Agents are not sent to this node's relay any more.
        if (options.embeddedRelay) await relayGone(store.db, relay.id).catch(() => {});
        peers.close();
        // Refusals still being counted are written before the store closes.
        c.refusals.flush();
        await links.close();
        await work.drain(3000);
        stopTracking();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
