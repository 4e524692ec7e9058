import { once } from "node:events";
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import type { TLSSocket } from "node:tls";
import type { KeepaliveOptions } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import { acceptAgent, type AgentAcceptorDeps } from "./agent-acceptor.js";
import type { Duplex } from "node:stream";
import type { LiveStream, StreamAuthority, StreamRequest } from "../protocol/relay-access.js";
import { joinClientStream, liveView, openInProcessStream, type CarriedStream } from "./stream-joiner.js";
import { StreamThrottle, type StreamRate } from "./stream-throttle.js";
import { TunnelRegistry } from "./tunnel-registry.js";

/** Everything a relay needs from its surroundings. */
export interface RelayOptions {
  id: string;
  authority: StreamAuthority;
  authenticateAgent: AgentAcceptorDeps["authenticate"];
  peerIdentity: AgentAcceptorDeps["peerIdentity"];
  log: Logger;
  now?: () => Date;
  keepalive?: KeepaliveOptions;
  /** How fast one user may open streams to one device (default `DEFAULT_STREAM_RATE`). */
  streamRate?: StreamRate;
}

/** A relay: holds agent tunnels and joins client streams to them. Sockets come from the listener. */
export interface Relay {
  readonly id: string;
  readonly registry: TunnelRegistry;
  /** Takes over a TLS socket that negotiated the agent ALPN. */
  acceptAgentSocket(socket: TLSSocket): void;
  /** Handles a client CONNECT stream. */
  handleClientStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, source: string): void;
  /**
   * Opens a stream for a user inside this process (the web portal), authorised and recorded
   * like a client's; resolves once the agent reached the target, or rejects with a FernlinkError.
   */
  openStream(request: StreamRequest): Promise<Duplex>;
  /** The streams carried right now. */
  streams(): LiveStream[];
  /** Cuts one live stream (its user lost the right to it). */
  cutStream(streamId: string): boolean;
  /** Closes every tunnel and waits (at most `graceMs`) until their streams and tunnels have ended. */
  close(graceMs?: number): Promise<void>;
}

/** Builds a relay around a fresh tunnel registry. */
export function createRelay(options: RelayOptions): Relay {
  const registry = new TunnelRegistry();
  const now = options.now ?? (() => new Date());
  const acceptorDeps: AgentAcceptorDeps = {
    authenticate: options.authenticateAgent,
    peerIdentity: options.peerIdentity,
    registry,
    log: options.log,
    now,
    ...(options.keepalive ? { keepalive: options.keepalive } : {}),
  };
  const live = new Map<string, CarriedStream>();
  const throttle = new StreamThrottle(options.streamRate, () => now().getTime());
  const joinerDeps = { authority: options.authority, registry, throttle, log: options.log, now, live };
  // Streams being joined, so shutdown can wait for their audit records.
  const active = new Set<Promise<void>>();
  const track = (done: Promise<void>): void => {
    active.add(done);
    void done.finally(() => active.delete(done));
  };
  return {
    id: options.id,
    registry,
    acceptAgentSocket: (socket) => void acceptAgent(socket, acceptorDeps),
    handleClientStream: (stream, headers, source) => track(joinClientStream(stream, headers, source, joinerDeps)),
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
