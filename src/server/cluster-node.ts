import pg from "pg";
import { forgetAccountHere, resumeCacheHere, suspendCacheHere } from "../access/access-changes.js";
import { type ChangeFeed, createChangeFeed } from "../access/change-feed.js";
import { createClusterFeed } from "../access/cluster-feed.js";
import type { AccessContext, ClusterLink, Presence } from "../access/context.js";
import { revalidateLocalStreams } from "../access/live-streams.js";
import { channelOf, type Listening, listenChannel, notify } from "../access/pg-notify.js";
import { cutStreamsOfEndedSessions } from "../access/session-streams.js";
import type { Store } from "../access/store/index.js";
import { SCHEMA_PARAM } from "../access/store/postgres.js";
import { streamTargetLabel } from "../protocol/stream-headers.js";
import type { Relay } from "../relay/relay.js";
import type { BackgroundWork } from "../shared/background-work.js";
import type { Logger } from "../shared/log.js";
import { CLUSTER_PRESENCE, clusterPresence } from "./cluster-presence.js";
import { takeOverDeadTunnels } from "./dead-tunnels.js";
import { type RelayNames, relayPresence } from "./presence-tracker.js";
import type { TunnelBoard } from "./tunnel-board.js";

/** How this node sees presence and changes: alone, or as one node of a cluster. */
export interface NodeLinks {
  presence: Presence;
  changes: ChangeFeed;
  /** Set on PostgreSQL: the other nodes. */
  cluster?: ClusterLink;
  /** Starts listening and heartbeating once the access context exists. */
  start(ctx: AccessContext): Promise<void>;
  /** Stops them; after the relay closed, before the store does. */
  close(): Promise<void>;
}

/** Options of `nodeLinks`. */
export interface NodeLinksOptions {
  store: Store;
  /** The PostgreSQL URL (with `?schema=`), when the store is PostgreSQL. */
  dbUrl?: string | undefined;
  relay: Relay;
  /** The relays this node answers for (its own, and those linked to it). */
  board: TunnelBoard;
  names: RelayNames;
  log: Logger;
  now: () => Date;
  /** Where presence writes and command work are tracked, drained before the store closes. */
  work: BackgroundWork;
}

/**
 * On SQLite: presence from the in-process relay and an in-process change feed, as a single
 * node always had. On PostgreSQL: presence over every relay of the cluster (`live_tunnels`)
 * and a change feed and command link over LISTEN/NOTIFY, one channel per schema.
 */
export function nodeLinks(options: NodeLinksOptions): NodeLinks {
  const { store, relay, board, names, log } = options;
  const local = createChangeFeed({ onListenerError: (err) => log.error("change feed listener failed", { error: String(err) }) });
  const here = relayPresence(board, relay, names);
  if (store.dialect !== "postgres" || options.dbUrl === undefined) {
    return { presence: here, changes: local, start: () => Promise.resolve(), close: () => Promise.resolve() };
  }
  const url = new URL(options.dbUrl);
  const channel = channelOf(url.searchParams.get(SCHEMA_PARAM) ?? "public");
  url.searchParams.delete(SCHEMA_PARAM);

  let ctx: AccessContext | undefined;
  const later = (what: string, fn: (ctx: AccessContext) => Promise<unknown>): void => {
    if (!ctx) return;
    const c = ctx;
    void options.work.track(fn(c).catch((err: unknown) => log.error(`cluster command failed: ${what}`, { error: String(err) })));
  };
  // Device events from other nodes: read their tunnels now rather than at the next refresh.
  const withRefresh: ChangeFeed = {
    ...local,
    publish(event) {
      local.publish(event);
      if (event.kind === "devices") void tracker.refresh().catch(() => {});
    },
  };
  const cluster = createClusterFeed({
    nodeId: relay.id,
    local: withRefresh,
    send: (payload) => notify(store.db, channel, payload),
    log,
    commands: {
      disconnect: (deviceId) => board.disconnect(deviceId),
      revalidate: (accountId) => later("revalidate streams", (c) => revalidateLocalStreams(c, accountId)),
      endSessions: (accountId) => later("cut streams of ended sessions", (c) => cutStreamsOfEndedSessions(c, { accountId })),
      accessChanged: (accountId) => void (ctx && forgetAccountHere(ctx, accountId)),
      closeStream(accountId, streamId) {
        const stream = relay.streams().find((s) => s.streamId === streamId && s.grant.accountId === accountId);
        if (!stream || !relay.cutStream(streamId)) return undefined;
        const { grant } = stream;
        return {
          streamId,
          userId: grant.userId,
          userName: grant.userName,
          deviceName: grant.deviceName,
          target: streamTargetLabel(stream.request.target, stream.request.protocol),
        };
      },
    },
  });
  const tracker = clusterPresence({
    db: store.db,
    nodeId: relay.id,
    board,
    names,
    local: here,
    link: cluster.link,
    now: options.now,
    log,
    work: options.work,
  });
  let listening: Listening | undefined;
  let takeOver: NodeJS.Timeout | undefined;
  let takingOver = false;

  return {
    presence: tracker.presence,
    changes: cluster.feed,
    cluster: cluster.link,
    async start(context) {
      ctx = context;
      listening = listenChannel({
        channel,
        newClient: () => new pg.Client({ connectionString: url.toString() }),
        onPayload: (payload) => cluster.receive(payload),
        // No cached stream decision is trusted while change notices may be missed.
        onLost: () => void (ctx && suspendCacheHere(ctx)),
        // Commands sent while the connection was down are lost: check this node's streams now.
        onListening: (gap) => {
          if (ctx) resumeCacheHere(ctx);
          if (!gap) return;
          later("re-check streams after reconnecting", async (c) => {
            const accounts = new Set(relay.streams().map((s) => s.grant.accountId));
            for (const accountId of accounts) await revalidateLocalStreams(c, accountId);
            await cutStreamsOfEndedSessions(c);
          });
        },
        log,
      });
      await listening.ready;
      await tracker.start();
      // A node or relay killed without a word leaves its rows to go stale: one of us ends its tunnels.
      takeOver = setInterval(() => {
        if (takingOver) return;
        takingOver = true;
        later("take over the tunnels of a dead relay", (c) =>
          takeOverDeadTunnels(c, { board, names, staleMs: CLUSTER_PRESENCE.staleMs }).finally(() => (takingOver = false)),
        );
      }, CLUSTER_PRESENCE.takeOverMs);
      takeOver.unref();
    },
    async close() {
      clearInterval(takeOver);
      await tracker.stop();
      await listening?.close();
    },
  };
}
