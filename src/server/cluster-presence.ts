import type { Kysely } from "kysely";
import type { ClusterLink, DevicePresence, Presence, RelayLoad, TunnelInfo } from "../access/context.js";
import { dropLiveStreams, type LiveStreamRow, type LiveStreamValues, listLiveStreams, syncLiveStreams } from "../access/store/live-streams.js";
import {
  beatLiveTunnels,
  dropLiveTunnel,
  dropRelayTunnels,
  type LiveTunnelRow,
  listLiveTunnels,
  liveTunnelRelays,
  pruneLiveTunnels,
  putLiveTunnel,
} from "../access/store/live-tunnels.js";
import type { Database } from "../access/store/schema.js";
import type { LiveStream } from "../protocol/relay-access.js";
import { streamTargetLabel } from "../protocol/stream-headers.js";
import { parseHostPort } from "../protocol/target.js";
import type { BackgroundWork } from "../shared/background-work.js";
import type { Logger } from "../shared/log.js";
import type { RelayNames } from "./presence-tracker.js";
import type { HeldTunnel, TunnelBoard } from "./tunnel-board.js";

/** Timing of cluster presence; the defaults are what `fernlink server` runs with. */
export const CLUSTER_PRESENCE = {
  /** How often a relay renews the rows of the tunnels it holds. */
  heartbeatMs: 5_000,
  /** A row not renewed for this long belongs to a relay that died: the device reads as offline. */
  staleMs: 15_000,
  /** How often a node reads the other relays' tunnels (and at once after a device event). */
  refreshMs: 1_000,
  /** How often a node takes over the stale rows of relays that died (`dead-tunnels.ts`). */
  takeOverMs: 2_000,
  /** Rows this old are deleted by whichever node sees them. */
  pruneMs: 60_000,
} as const;

/** Options of `clusterPresence`. */
export interface ClusterPresenceOptions {
  db: Kysely<Database>;
  /** This node's id: its streams' rows carry it. */
  nodeId: string;
  /** The relays this node answers for. */
  board: TunnelBoard;
  names: RelayNames;
  /** This node's relays, answering from memory. */
  local: Presence;
  link: ClusterLink;
  now: () => Date;
  log: Logger;
  work: BackgroundWork;
  timing?: Partial<Record<keyof typeof CLUSTER_PRESENCE, number>>;
}

/** Presence over every relay of the cluster, with the timers that keep it current. */
export interface ClusterPresence {
  presence: Presence;
  /** Reads the other relays' tunnels again now. */
  refresh(): Promise<void>;
  /** Writes this relay's tunnels and starts heartbeat and refresh; returns when both ran once. */
  start(): Promise<void>;
  /** Stops the timers and forgets this relay's tunnels in the store. */
  stop(): Promise<void>;
}

/**
 * Presence of a node of a cluster: this relay's tunnels and streams from memory, the other
 * relays' tunnels from the `live_tunnels` table (read every `refreshMs` and after each device
 * event). Each relay writes its tunnels there as they come and go and renews them every
 * `heartbeatMs`; a row older than `staleMs` counts as offline. Streams stay per node: cuts
 * reach the others as commands through the cluster link.
 */
export function clusterPresence(options: ClusterPresenceOptions): ClusterPresence {
  const timing = { ...CLUSTER_PRESENCE, ...options.timing };
  const { db, board, local, log, names } = options;
  let others = new Map<string, LiveTunnelRow>();
  let otherStreams: LiveStream[] = [];
  let timers: NodeJS.Timeout[] = [];
  let refreshing: Promise<void> | undefined;

  const fresh = (row: LiveTunnelRow): boolean => options.now().getTime() - Date.parse(row.heartbeatAt) <= timing.staleMs;
  const remote = (accountId?: string): LiveTunnelRow[] =>
    [...others.values()].filter(
      (r) => !board.relayIds().includes(r.relayId) && (accountId === undefined || r.accountId === accountId) && fresh(r) && !board.find(r.deviceId),
    );

  const track = (what: string, p: Promise<unknown>): void => {
    void options.work.track(p.catch((err: unknown) => log.error(`cluster presence: cannot ${what}`, { error: String(err) })));
  };
  const put = (t: HeldTunnel, relayId: string): Promise<void> =>
    putLiveTunnel(db, { deviceId: t.identity.deviceId, relayId, address: t.address, since: t.connectedAt, now: options.now() }).catch((err: unknown) => {
      // The device was removed while connected: there is no row to keep for it.
      log.warn("cluster presence: tunnel not recorded", { device: t.identity.deviceName, error: String(err) });
    });
  const online = (t: HeldTunnel, relayId: string): void => track("record a tunnel", put(t, relayId));
  const offline = (t: HeldTunnel, relayId: string): void => track("forget a tunnel", dropLiveTunnel(db, t.identity.deviceId, relayId));

  const heartbeat = async (): Promise<void> => {
    for (const relayId of board.relayIds()) {
      const renewed = await beatLiveTunnels(db, relayId, options.now());
      // Fewer rows than tunnels: a row was lost (a write failed, or another node took it over
      // during a long pause, ending the tunnel in the store: then it is announced again).
      const mine = board.list().filter((p) => p.relayId === relayId);
      if (renewed < mine.length) {
        const held = await liveTunnelRelays(
          db,
          mine.map((p) => p.tunnel.identity.deviceId),
        );
        await Promise.all(
          mine.map(async (p) => {
            const deviceId = p.tunnel.identity.deviceId;
            if (held.get(deviceId) === relayId) return;
            await put(p.tunnel, relayId);
            // Written before it is announced, so the next heartbeat does not announce it twice.
            if (!held.has(deviceId)) board.announce(deviceId);
          }),
        );
      }
    }
    await pruneLiveTunnels(db, new Date(options.now().getTime() - timing.pruneMs));
    await syncLiveStreams(db, options.nodeId, local.streams().map(streamValues), options.now());
    await dropLiveStreams(db, undefined, new Date(options.now().getTime() - timing.pruneMs));
  };

  const refresh = (): Promise<void> => {
    const freshSince = new Date(options.now().getTime() - timing.staleMs);
    refreshing ??= Promise.all([listLiveTunnels(db, freshSince), listLiveStreams(db, freshSince)])
      .then(([rows, streams]) => {
        others = new Map(rows.map((r) => [r.deviceId, r]));
        otherStreams = streams.filter((r) => r.node_id !== options.nodeId).map(streamOfRow);
      })
      .finally(() => (refreshing = undefined));
    return refreshing;
  };

  const presence: Presence = {
    status(deviceId): DevicePresence | undefined {
      const here = local.status(deviceId);
      if (here) return here;
      const row = others.get(deviceId);
      return row && !board.relayIds().includes(row.relayId) && fresh(row)
        ? { relayId: row.relayId, relay: names(row.relayId), address: row.address, since: new Date(row.since) }
        : undefined;
    },
    disconnect(deviceId) {
      local.disconnect(deviceId);
      options.link.tell({ type: "disconnect", deviceId });
    },
    streams: (accountId) => local.streams(accountId),
    clusterStreams: (accountId) => {
      const here = local.streams(accountId);
      const ids = new Set(here.map((s) => s.streamId));
      return [...here, ...otherStreams.filter((s) => s.grant.accountId === accountId && !ids.has(s.streamId))];
    },
    cutStream: (streamId) => local.cutStream(streamId),
    tunnels(accountId): TunnelInfo[] {
      const away = remote(accountId).map((r) => ({
        deviceId: r.deviceId,
        deviceName: r.deviceName,
        address: r.address,
        since: new Date(r.since),
        relay: names(r.relayId),
      }));
      return [...local.tunnels(accountId), ...away];
    },
    relays(accountId): RelayLoad[] {
      const loads = new Map(local.relays(accountId).map((r) => [r.id, { ...r }]));
      for (const row of remote(accountId)) {
        const name = names(row.relayId);
        const load = loads.get(name) ?? { id: name, tunnels: 0, streams: 0 };
        load.tunnels++;
        loads.set(name, load);
      }
      return [...loads.values()];
    },
  };

  return {
    presence,
    refresh,
    async start() {
      // Rows left by an earlier run of a relay with the same id are not ours to renew.
      await Promise.all(board.relayIds().map((id) => dropRelayTunnels(db, id)));
      board.on("online", online);
      board.on("offline", offline);
      await Promise.all(board.list().map((p) => put(p.tunnel, p.relayId)));
      await Promise.all([heartbeat(), refresh()]);
      const every = (ms: number, what: string, fn: () => Promise<void>): NodeJS.Timeout => {
        const timer = setInterval(() => track(what, fn()), ms);
        timer.unref();
        return timer;
      };
      timers = [every(timing.heartbeatMs, "renew tunnels", heartbeat), every(timing.refreshMs, "read the cluster's tunnels", refresh)];
    },
    async stop() {
      timers.forEach(clearInterval);
      timers = [];
      board.off("online", online);
      board.off("offline", offline);
      await Promise.all([...board.relayIds().map((id) => dropRelayTunnels(db, id)), dropLiveStreams(db, options.nodeId)]).catch((err: unknown) =>
        log.error("cluster presence: cannot forget tunnels", { error: String(err) }),
      );
    },
  };
}

/** A stream of this node as its row. */
function streamValues(s: LiveStream): LiveStreamValues {
  return {
    stream_id: s.streamId,
    account_id: s.grant.accountId,
    user_id: s.grant.userId,
    user_name: s.grant.userName,
    device_id: s.grant.deviceId,
    device_name: s.grant.deviceName,
    target: streamTargetLabel(s.request.target, s.request.protocol),
    source: s.request.source,
    started_at: s.startedAt.toISOString(),
    bytes_up: s.bytesUp,
    bytes_down: s.bytesDown,
  };
}

/** Another node's stream as the live view shows it: what the row says, nothing to act on. */
function streamOfRow(r: LiveStreamRow): LiveStream {
  return {
    streamId: r.stream_id,
    request: { token: undefined, device: r.device_name, target: parseHostPort(r.target), source: r.source },
    grant: {
      accountId: r.account_id,
      userId: r.user_id,
      userName: r.user_name,
      sessionId: "",
      deviceId: r.device_id,
      deviceName: r.device_name,
      lastSeen: null,
      allowedTargets: [],
    },
    startedAt: new Date(r.started_at),
    bytesUp: Number(r.bytes_up),
    bytesDown: Number(r.bytes_down),
  };
}
