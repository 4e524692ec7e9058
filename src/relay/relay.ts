import { once } from "node:events";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { TLSSocket } from "node:tls";
import type { LiveStream, StreamAuthority, StreamRequest } from "../protocol/relay-access.js";
import type { JoinResult } from "../shared/join-streams.js";
import type { KeepaliveOptions } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import { type AgentAcceptorDeps, acceptAgent, certificatePeer } from "./agent-acceptor.js";
import { acceptLane } from "./lane-acceptor.js";
import { LaneBoard } from "./lane-board.js";
import { RecordingStore } from "./recordings.js";
import { type CarriedStream, joinClientStream, joinForwardedStream, liveView, openInProcessStream, type StreamJoinerDeps } from "./stream-joiner.js";
import { type StreamRate, StreamThrottle } from "./stream-throttle.js";
import { TunnelRegistry } from "./tunnel-registry.js";

/** Everything a relay needs from its surroundings. */
export interface RelayOptions {
  id: string;
  authority: StreamAuthority;
  authenticateAgent: AgentAcceptorDeps["authenticate"];
  /** Reads the agent's certificate; default: its serial and device id (`certificatePeer`). */
  peerIdentity?: AgentAcceptorDeps["peerIdentity"];
  log: Logger;
  now?: () => Date;
  keepalive?: KeepaliveOptions;
  /** How fast one user may open streams to one device (default `DEFAULT_STREAM_RATE`). */
  streamRate?: StreamRate;
  /** Where a device not connected here is: the relay holding it (access nodes only). */
  forward?: StreamJoinerDeps["forward"];
}

/** What a relay carries, for its heartbeat and `relay list`. */
export interface RelayLoad {
  devices: number;
  /** User streams and forwarded streams open now. */
  streams: number;
  /** Bytes carried since start, towards the devices and back. */
  bytesUp: number;
  bytesDown: number;
}

/** A relay: holds agent tunnels and joins client streams to them. Sockets come from the listener. */
export interface Relay {
  readonly id: string;
  readonly registry: TunnelRegistry;
  /** Takes over a TLS socket that negotiated the agent ALPN. */
  acceptAgentSocket(socket: TLSSocket): void;
  /**
   * Takes over a TLS socket that negotiated the lane ALPN: the lane a client's or an agent's
   * stream moves to (`proven` is told once a stream took it).
   */
  acceptLaneSocket(socket: TLSSocket, proven: () => void): void;
  /** Handles a client CONNECT stream. */
  handleClientStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, source: string): void;
  /** Handles a stream an access node forwarded here (it authorised and records it). */
  handleForwardedStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void;
  /**
   * Drains: refuses new agents, asks the connected ones to move, and resolves when no tunnel
   * and no stream is left, or at `deadlineMs`, after closing what remained.
   */
  drain(deadlineMs: number): Promise<void>;
  readonly draining: boolean;
  load(): RelayLoad;
  /**
   * Opens a stream for a user inside this process (the web portal), authorised and recorded
   * like a client's; resolves once the agent reached the target, or rejects with a FernlinkError.
   */
  openStream(request: StreamRequest): Promise<Duplex>;
  /** The streams carried right now. */
  streams(): LiveStream[];
  /** Cuts one live stream (its user lost the right to it). */
  cutStream(streamId: string): boolean;
  /** The bytes of the streams to recorded targets this relay carried (in memory, size-capped). */
  readonly recordings: RecordingStore;
  /** Closes every tunnel and waits (at most `graceMs`) until their streams and tunnels have ended. */
  close(graceMs?: number): Promise<void>;
}

/** Builds a relay around a fresh tunnel registry. */
export function createRelay(options: RelayOptions): Relay {
  const registry = new TunnelRegistry(options.id, {
    onDuplicate: ({ tunnel, addresses }) =>
      options.log.warn("two agents share one device identity and keep replacing each other's tunnel; stop one, or register each with its own key", {
        device: tunnel.identity.deviceName,
        addresses: addresses.join(", "),
      }),
  });
  const now = options.now ?? (() => new Date());
  const lanes = new LaneBoard();
  const acceptorDeps: AgentAcceptorDeps = {
    lanes,
    authenticate: options.authenticateAgent,
    peerIdentity: options.peerIdentity ?? certificatePeer,
    registry,
    log: options.log,
    now,
    ...(options.keepalive ? { keepalive: options.keepalive } : {}),
  };
  const live = new Map<string, CarriedStream>();
  const throttle = new StreamThrottle(options.streamRate, () => now().getTime());
  // Forwarded streams' counts while they run, and the totals of every stream that ended.
  const forwarded = new Set<Readonly<JoinResult>>();
  const totals = { up: 0, down: 0 };
  const ended = (up: number, down: number): void => {
    totals.up += up;
    totals.down += down;
  };
  const recordings = new RecordingStore();
  const joinerDeps: StreamJoinerDeps = {
    authority: options.authority,
    registry,
    throttle,
    recordings,
    lanes,
    log: options.log,
    now,
    live,
    ended,
    forward: options.forward,
  };
  let draining = false;
  // Streams being joined, so shutdown can wait for their audit records.
  const active = new Set<Promise<void>>();
  const track = (done: Promise<void>): void => {
    active.add(done);
    void done.finally(() => active.delete(done));
  };
  return {
    id: options.id,
    registry,
    recordings,
    acceptAgentSocket: (socket) => {
      // A draining relay takes no agents: they go to the next relay on their list.
      if (draining) return void socket.destroy();
      void acceptAgent(socket, acceptorDeps);
    },
    acceptLaneSocket: (socket, proven) =>
      void acceptLane(socket, { board: lanes, peerIdentity: acceptorDeps.peerIdentity, log: options.log }).then((taken) => taken && proven()),
    handleClientStream: (stream, headers, source) => track(joinClientStream(stream, headers, source, joinerDeps)),
    handleForwardedStream: (stream, headers) =>
      track(
        joinForwardedStream(stream, headers, registry, (counts) => {
          forwarded.add(counts);
          return () => {
            forwarded.delete(counts);
            ended(counts.bytesAtoB, counts.bytesBtoA);
          };
        }),
      ),
    get draining() {
      return draining;
    },
    async drain(deadlineMs) {
      draining = true;
      const deadline = Date.now() + deadlineMs;
      for (const tunnel of registry.list()) tunnel.requestMove();
      while (Date.now() < deadline && (registry.list().length > 0 || active.size > 0)) await sleep(Math.min(250, Math.max(1, deadline - Date.now())));
      const left = [...active];
      registry.closeAll();
      await Promise.race([Promise.allSettled(left), sleep(2000)]);
    },
    load() {
      let up = totals.up;
      let down = totals.down;
      for (const c of forwarded) {
        up += c.bytesAtoB;
        down += c.bytesBtoA;
      }
      for (const s of live.values()) {
        up += s.counts.bytesAtoB;
        down += s.counts.bytesBtoA;
      }
      return { devices: registry.list().length, streams: live.size + forwarded.size, bytesUp: up, bytesDown: down };
    },
    openStream: async (request) => {
      const { stream, carried } = await openInProcessStream(request, joinerDeps);
      track(carried);
      return stream;
    },
    streams: () => [...live.values()].map(liveView),
    cutStream: (streamId) => {
      const stream = live.get(streamId);
      stream?.cut();
      return stream !== undefined;
    },
    close: async (graceMs = 2000) => {
      const ended = [...active, ...registry.list().map((t) => once(t, "close"))];
      registry.closeAll();
      await Promise.race([Promise.allSettled(ended), sleep(graceMs)]);
    },
  };
}
