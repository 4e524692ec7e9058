import http2, { type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import { FernlinkError } from "../protocol/errors.js";
import { LANE_HEADER, LANE_MOVE_BYTES, laneWorthIt } from "../protocol/lane.js";
import { AGENT_MOVE_PATH } from "../protocol/relay-link.js";
import {
  errorResponseHeaders,
  HEADER,
  protocolHeaders,
  readAllowedTargets,
  readConnectTarget,
  readHeader,
  readStreamProtocol,
  streamTargetLabel,
} from "../protocol/stream-headers.js";
import { joinStreams } from "../shared/join-streams.js";
import type { Logger } from "../shared/log.js";
import { MovableStream } from "../shared/movable-stream.js";
import { endsOf, resetOnCancel, respondWithTrailers } from "../shared/stream-cancel.js";
import { hopRoundTripMs, readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";
import type { Allowlist } from "./allowlist.js";
import type { StreamGate } from "./stream-gate.js";
import { dialTarget } from "./target-dialer.js";
import { dialUdpTarget } from "./udp-dialer.js";
import { AGENT_UDP_IDLE_MS, carryUdp } from "./udp-stream.js";

/** What the agent's stream handler needs. */
export interface StreamServerDeps {
  allowlist: () => Allowlist;
  deviceName: string;
  log: Logger;
  /** The relay of this session is draining and asks the agent to move elsewhere. */
  onMove?: (session: ServerHttp2Session) => void;
  /** The key switch's gate: checked before and after dialing, and holding the open streams. */
  gate?: StreamGate;
  /** How long a UDP stream may go without a datagram; AGENT_UDP_IDLE_MS by default. */
  udpIdleMs?: number;
  /** Opens the lane the relay of `session` asked for with `nonce` (lane-dialer.ts); absent: streams stay on the tunnel. */
  openLane?: (session: ServerHttp2Session, nonce: string) => Promise<Duplex>;
}

/** Answers one CONNECT from the relay: check, dial (TCP, or a UDP socket for a stream marked udp), reply, pipe. */
export async function handleRelayStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, deps: StreamServerDeps): Promise<void> {
  const user = readHeader(headers, HEADER.user) ?? "?";
  let where = "?";
  try {
    const target = readConnectTarget(headers);
    const protocol = readStreamProtocol(headers);
    where = streamTargetLabel(target, protocol);
    deps.gate?.check();
    if (protocol === "udp") {
      const socket = await dialUdpTarget(target, deps.allowlist(), deps.deviceName, readAllowedTargets(headers));
      if (stream.destroyed) return void socket.close();
      try {
        deps.gate?.check();
      } catch (err) {
        socket.close();
        throw err;
      }
      // A turn of the switch ends the stream, and with it the UDP socket.
      deps.gate?.track(stream);
      // The mark in the answer tells the relay this agent carries datagrams, not a TCP dial.
      stream.respond({ ":status": 200, ...protocolHeaders("udp") });
      deps.log.info("stream opened", { user, target: where });
      carryUdp(stream, socket, deps.udpIdleMs ?? AGENT_UDP_IDLE_MS, (counts) => deps.log.info("stream closed", { user, target: where, ...counts }));
      return;
    }
    const socket = await dialTarget(target, deps.allowlist(), deps.deviceName, readAllowedTargets(headers));
    if (stream.destroyed) {
      socket.destroy();
      return;
    }
    try {
      // The switch may have turned while the target was being dialled.
      deps.gate?.check();
    } catch (err) {
      socket.destroy();
      throw err;
    }
    deps.gate?.track(socket);
    const relaySide = answerTcp(stream, headers, deps);
    deps.log.info("stream opened", { user, target: where });
    joinStreams(relaySide, socket, ({ bytesAtoB, bytesBtoA }) =>
      deps.log.info("stream closed", {
        user,
        target: where,
        bytesIn: bytesAtoB,
        bytesOut: bytesBtoA,
        ...(relaySide instanceof MovableStream && relaySide.moved ? { lane: true } : {}),
      }),
    );
  } catch (err) {
    const error = err instanceof FernlinkError ? err : new FernlinkError("internal", "the agent failed to open the stream", { cause: err });
    deps.log.warn("stream refused", { user, target: where, code: error.code, reason: error.message });
    if (!stream.destroyed) stream.respond(errorResponseHeaders(error), { endStream: true });
  }
}

/**
 * Answers a TCP stream with 200. When its relay offered a lane (header fernlink-lane), the stream
 * to carry is one that moves to that lane once it carried LANE_MOVE_BYTES (protocol/lane.ts);
 * else, or when this agent cannot dial one, the stream stays on the tunnel.
 */
function answerTcp(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, deps: StreamServerDeps): Duplex {
  const nonce = readHeader(headers, LANE_HEADER);
  const session = stream.session as ServerHttp2Session | undefined;
  const openLane = deps.openLane;
  if (nonce === undefined || !openLane || !session) {
    stream.respond({ ":status": 200 });
    return stream;
  }
  respondWithTrailers(stream, { ":status": 200 });
  const movable: MovableStream = new MovableStream(stream, endsOf(stream), {
    bytes: LANE_MOVE_BYTES,
    // Decided once the stream carried enough: by then the hop's round trip has been measured.
    wanted: () => {
      const rttMs = hopRoundTripMs(session);
      if (!laneWorthIt(rttMs)) return deps.log.debug("no lane: the round trip to the relay is long", { rttMs });
      void openLane(session, nonce).then(
        (lane) => movable.moveTo(lane),
        (err: unknown) => deps.log.debug("no lane: the stream stays on the tunnel", { error: String(err) }),
      );
    },
  });
  return movable;
}

/**
 * An HTTP/2 server (no listening socket: tunnels are handed to it) that serves the relay's
 * streams. Its only peer is the relay, authenticated by the tunnel's TLS, so the limits
 * meant for anonymous clients are lifted: a tunnel carries many short streams, and the
 * relay refusing or giving up thousands of them must never end it. (The reset-rate limit
 * cannot be changed in Node 20; the relay cancels with a trailer instead, see
 * `shared/stream-cancel.ts`.)
 */
export function createStreamServer(deps: StreamServerDeps): Http2Server {
  const server = http2.createServer({
    ...TUNNEL_SESSION_OPTIONS,
    maxSessionRejectedStreams: 2 ** 31 - 1,
  });
  server.on("session", (session) => readyTunnelSession(session));
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    if (headers[":method"] === "POST" && headers[":path"] === AGENT_MOVE_PATH) {
      stream.respond({ ":status": 204 }, { endStream: true });
      deps.onMove?.(stream.session as ServerHttp2Session);
      return;
    }
    // The relay gave the stream up: reset it from this side (a server's resets cost nothing).
    resetOnCancel(stream);
    void handleRelayStream(stream, headers, deps);
  });
  return server;
}
