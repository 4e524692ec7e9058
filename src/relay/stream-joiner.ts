import { randomUUID } from "node:crypto";
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeReasonHeader } from "../protocol/connect-reason.js";
import { FernlinkError } from "../protocol/errors.js";
import { LANE_HEADER } from "../protocol/lane.js";
import type { LiveStream, Requester, StreamAuthority, StreamGrant, StreamRequest } from "../protocol/relay-access.js";
import { FORWARD_HEADER } from "../protocol/relay-link.js";
import {
  errorResponseHeaders,
  HEADER,
  protocolHeaders,
  readConnectTarget,
  readHeader,
  readStreamProtocol,
  type StreamProtocol,
  streamTargetLabel,
} from "../protocol/stream-headers.js";
import type { HostPort } from "../protocol/target.js";
import { duplexPair } from "../shared/duplex-pair.js";
import { deviceOfflineError } from "../shared/format.js";
import { type JoinResult, joinStreams } from "../shared/join-streams.js";
import type { Logger } from "../shared/log.js";
import { MovableStream } from "../shared/movable-stream.js";
import { abortStream, endsOf, resetAnswered, resetOnCancel, respondWithTrailers } from "../shared/stream-cancel.js";
import type { StreamMeta } from "./connect-stream.js";
import type { LaneBoard } from "./lane-board.js";
import type { StreamOpener } from "./peer-relays.js";
import type { RecordingStore } from "./recordings.js";
import { type StreamThrottle, THROTTLE_REPORT_WINDOW_MS } from "./stream-throttle.js";
import type { TunnelRegistry } from "./tunnel-registry.js";

/** A stream being carried, with its running byte counts and a way to cut it. */
export interface CarriedStream {
  streamId: string;
  request: StreamRequest;
  grant: StreamGrant;
  startedAt: Date;
  counts: Readonly<JoinResult>;
  cut: () => void;
}

/** What joining a user's stream to an agent needs. */
export interface StreamJoinerDeps {
  authority: StreamAuthority;
  /** Live streams by id. */
  live: Map<string, CarriedStream>;
  /** Told the bytes of each stream that ended, for the relay's totals since start. */
  ended?: (bytesUp: number, bytesDown: number) => void;
  registry: TunnelRegistry;
  /** The relay holding a device that is not connected here, if any. */
  forward?: ((deviceId: string, deviceName: string) => StreamOpener | undefined) | undefined;
  throttle: StreamThrottle;
  /** The lanes offered to clients' TCP streams (protocol/lane.ts); absent: streams stay on HTTP/2. */
  lanes?: LaneBoard;
  /** Where the bytes of streams to recorded targets are kept; absent: nothing is recorded here. */
  recordings?: RecordingStore;
  log: Logger;
  now: () => Date;
}

/** A stream the agent has connected to its target, not yet carrying user bytes. */
interface OpenedStream {
  streamId: string;
  request: StreamRequest;
  grant: StreamGrant;
  /** The agent's side: a CONNECT stream on its tunnel (one that may move to its lane) or on the relay holding it. */
  agentStream: Duplex;
}

/** The public view of a carried stream. */
export function liveView(s: CarriedStream): LiveStream {
  return { streamId: s.streamId, request: s.request, grant: s.grant, startedAt: s.startedAt, bytesUp: s.counts.bytesAtoB, bytesDown: s.counts.bytesBtoA };
}

/**
 * Authorises `request` and opens the matching stream to the device's agent. A refusal is
 * recorded and thrown as a FernlinkError.
 */
async function openForRequest(request: StreamRequest, deps: StreamJoinerDeps): Promise<OpenedStream> {
  let requester: Requester | undefined;
  let grant: StreamGrant | undefined;
  // A throttled user's refusals are recorded once per window; the rest go unrecorded.
  let unrecorded = false;
  try {
    requester = await deps.authority.authenticate(request);
    const verdict = deps.throttle.check(requester.userId, request.device);
    if (!verdict.allowed) {
      unrecorded = !verdict.report;
      throw tooManyStreams(request.device, deps.throttle, verdict.retryAfterMs, verdict.report);
    }
    grant = await deps.authority.authorize(requester, request);
    const streamId = randomUUID();
    const agentStream = await openWhereTheDeviceIs(
      grant,
      request.target,
      { streamId, user: grant.userName, allowedTargets: grant.allowedTargets, protocol: request.protocol },
      deps,
    );
    return { streamId, request, grant, agentStream };
  } catch (err) {
    const error = err instanceof FernlinkError ? err : new FernlinkError("internal", "the relay failed to open the stream", { cause: err });
    if (!(err instanceof FernlinkError)) deps.log.error("stream failed", { error: String(err) });
    if (!unrecorded) deps.authority.record({ kind: "refused", request, requester, grant, error, at: deps.now() });
    deps.log.debug("stream refused", { target: streamTargetLabel(request.target, request.protocol), code: error.code });
    throw error;
  }
}

/** How long a stream refused by a relay that lost its device waits for the device's new place. */
const MOVED_WAIT_MS = 3_000;

/** Where the device's streams open now: its tunnel here, or the relay holding it. */
function locate(grant: StreamGrant, deps: StreamJoinerDeps): StreamOpener | undefined {
  return deps.registry.get(grant.deviceId) ?? deps.forward?.(grant.deviceId, grant.deviceName);
}

/**
 * Opens the stream where the device is. A device whose agent moved to another relay (a drain)
 * stays on the old relay's books here until the new relay's report arrives, and the old relay
 * answers device-offline once the agent closed its old tunnel there: such a stream is opened once
 * more, where the device is now, as soon as this node knows it (within MOVED_WAIT_MS), rather than
 * failing a user's connection in the middle of a move.
 */
async function openWhereTheDeviceIs(grant: StreamGrant, target: HostPort, meta: StreamMeta, deps: StreamJoinerDeps): Promise<Duplex> {
  const first = locate(grant, deps);
  if (!first) throw deviceOfflineError(grant.deviceName, grant.lastSeen);
  try {
    return await first.openStream(target, meta);
  } catch (err) {
    if (first.at === undefined || !(err instanceof FernlinkError) || err.code !== "device-offline") throw err;
    const deadline = Date.now() + MOVED_WAIT_MS;
    for (;;) {
      const next = locate(grant, deps);
      if (next !== undefined && next.at !== first.at) return next.openStream(target, meta);
      if (Date.now() >= deadline) throw err;
      await sleep(100);
    }
  }
}

/** The refusal of a throttled stream; the recorded one says that the next ones are not. */
function tooManyStreams(device: string, throttle: StreamThrottle, retryAfterMs: number, recorded: boolean): FernlinkError {
  const { perSecond, burst } = throttle.rate;
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const more = recorded ? `; further refusals within ${THROTTLE_REPORT_WINDOW_MS / 1000} s are not recorded one by one` : "";
  return new FernlinkError(
    "too-many-streams",
    `too many streams to device "${device}": at most ${perSecond} per second (${burst} at once) for each user; try again in ${seconds} s${more}`,
    { retryAfterSeconds: seconds },
  );
}

/** True when the stream's bytes will be kept here, so its user is told. */
function recordedHere(opened: OpenedStream, deps: StreamJoinerDeps): boolean {
  return opened.grant.record === true && deps.recordings !== undefined;
}

/** Keeps a copy of every chunk each way; joinStreams' own listeners still decide the flow. */
function tapInto(opened: OpenedStream, user: Duplex, startedAt: Date, store: RecordingStore, now: () => Date): void {
  const { streamId, request, grant, agentStream } = opened;
  const log = store.start({
    id: streamId,
    accountId: grant.accountId,
    user: grant.userName,
    device: grant.deviceName,
    target: streamTargetLabel(request.target, request.protocol),
    startedAt,
  });
  user.on("data", (chunk: Buffer) => log.add(1, "up", chunk, now()));
  agentStream.on("data", (chunk: Buffer) => log.add(1, "down", chunk, now()));
}

/** Pipes the user's side into an opened stream, lists it as live, and records its start and end. */
function carry(opened: OpenedStream, user: Duplex, cut: () => void, deps: StreamJoinerDeps): Promise<void> {
  const { streamId, request, grant, agentStream } = opened;
  const startedAt = deps.now();
  deps.authority.record({ kind: "opened", streamId, request, grant, at: startedAt });
  const recordings = recordedHere(opened, deps) ? deps.recordings : undefined;
  return new Promise<void>((resolve) => {
    const onDone = ({ bytesAtoB, bytesBtoA, error }: JoinResult): void => {
      recordings?.end(grant.accountId, streamId, deps.now());
      deps.live.delete(streamId);
      deps.ended?.(bytesAtoB, bytesBtoA);
      deps.authority.record({ kind: "closed", streamId, bytesUp: bytesAtoB, bytesDown: bytesBtoA, error, at: deps.now() });
      resolve();
    };
    const counts = joinStreams(user, agentStream, onDone);
    if (recordings) tapInto(opened, user, startedAt, recordings, deps.now);
    deps.live.set(streamId, { streamId, request, grant, startedAt, counts, cut });
  });
}

/** The request a client's CONNECT headers make. */
function readClientRequest(headers: IncomingHttpHeaders, source: string): StreamRequest {
  const device = readHeader(headers, HEADER.device);
  if (!device) throw new FernlinkError("invalid-input", `CONNECT needs a ${HEADER.device} header`);
  const target = readConnectTarget(headers);
  const protocol = readStreamProtocol(headers);
  const reason = decodeReasonHeader(readHeader(headers, HEADER.connectReason));
  const token = readHeader(headers, "authorization");
  return {
    token: token?.startsWith("Bearer ") ? token.slice(7) : undefined,
    device,
    target,
    source,
    ...(protocol === "udp" ? { protocol } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/** The 200 a client's stream gets; it tells the user when the stream's bytes are kept (connect prints it once). */
function acceptedHeaders(opened: OpenedStream, deps: StreamJoinerDeps): Record<string, string | number> {
  return { ":status": 200, ...protocolHeaders(opened.request.protocol), ...(recordedHere(opened, deps) ? { [HEADER.recorded]: "1" } : {}) };
}

/** A request that could not be read, as the error its client is answered with. */
function malformed(err: unknown): FernlinkError {
  return err instanceof FernlinkError ? err : new FernlinkError("invalid-input", "the CONNECT request is malformed", { cause: err });
}

/**
 * Handles one client CONNECT stream: authorise, open the matching stream to the device's
 * agent, answer 200 once the agent reached the target, then pipe bytes both ways.
 * Resolves when the stream is over and its end was recorded.
 */
export async function joinClientStream(clientStream: ServerHttp2Stream, headers: IncomingHttpHeaders, source: string, deps: StreamJoinerDeps): Promise<void> {
  let opened: OpenedStream;
  // A client that gives up says so in a trailer rather than a reset (shared/stream-cancel.ts).
  resetOnCancel(clientStream);
  try {
    opened = await openForRequest(readClientRequest(headers, source), deps);
  } catch (err) {
    if (!clientStream.destroyed && !clientStream.headersSent) clientStream.respond(errorResponseHeaders(malformed(err)), { endStream: true });
    return;
  }
  if (clientStream.destroyed || clientStream.closed) {
    abortStream(opened.agentStream);
    return;
  }
  const user = answerClient(clientStream, opened, deps);
  await carry(
    opened,
    user.stream,
    () => {
      resetAnswered(clientStream, http2.constants.NGHTTP2_REFUSED_STREAM);
      // A stream that moved to its lane is past its HTTP/2 stream's reset.
      user.stream.destroy();
      abortStream(opened.agentStream);
    },
    deps,
  ).finally(user.withdraw);
}

/**
 * Answers a client's stream with 200 and, for a TCP stream when this relay takes lanes, the
 * offer of a lane (protocol/lane.ts): the stream the relay then carries is one that moves there
 * when the lane comes.
 */
function answerClient(clientStream: ServerHttp2Stream, opened: OpenedStream, deps: StreamJoinerDeps): { stream: Duplex; withdraw: () => void } {
  const headers = acceptedHeaders(opened, deps);
  if (!deps.lanes || opened.request.protocol === "udp") {
    clientStream.respond(headers);
    return { stream: clientStream, withdraw: () => {} };
  }
  const movable = new MovableStream(clientStream, endsOf(clientStream));
  const offer = deps.lanes.offer(undefined, (lane) => movable.moveTo(lane));
  respondWithTrailers(clientStream, { ...headers, [LANE_HEADER]: offer.nonce });
  return { stream: movable, withdraw: offer.withdraw };
}

/**
 * Opens a stream for a user inside this process (the web portal): authorised, recorded,
 * listed and cuttable like a client's CONNECT stream. Resolves with the user's end once the
 * agent reached the target; `carried` settles when the stream is over and recorded.
 */
export async function openInProcessStream(request: StreamRequest, deps: StreamJoinerDeps): Promise<{ stream: Duplex; carried: Promise<void> }> {
  const opened = await openForRequest(request, deps);
  const [ours, theirs] = duplexPair();
  const carried = carry(
    opened,
    ours,
    () => {
      ours.destroy();
      abortStream(opened.agentStream);
    },
    deps,
  );
  return { stream: theirs, carried };
}

/**
 * Carries a stream an access node forwarded to this relay (it decided, audits and lists it):
 * open it on the device's tunnel, answer 200, pipe. `onEnd` gets the byte counts.
 */
export async function joinForwardedStream(
  nodeStream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  registry: TunnelRegistry,
  onStart: (counts: Readonly<JoinResult>) => () => void,
): Promise<void> {
  resetOnCancel(nodeStream);
  let agentStream: Duplex;
  let protocol: StreamProtocol = "tcp";
  try {
    const deviceId = readHeader(headers, FORWARD_HEADER.deviceId);
    const streamId = readHeader(headers, HEADER.streamId);
    if (!deviceId || !streamId) throw new FernlinkError("invalid-input", `a forwarded stream needs ${FORWARD_HEADER.deviceId} and ${HEADER.streamId}`);
    const tunnel = registry.get(deviceId);
    if (!tunnel) throw new FernlinkError("device-offline", "the device is no longer on this relay; try again");
    const allowed = readHeader(headers, HEADER.allowedTargets);
    const target = readConnectTarget(headers);
    const user = readHeader(headers, HEADER.user) ?? "?";
    protocol = readStreamProtocol(headers);
    agentStream = await tunnel.openStream(target, {
      streamId,
      user,
      protocol,
      ...(allowed !== undefined ? { allowedTargets: allowed.split(" ").filter((t) => t !== "") } : {}),
    });
  } catch (err) {
    const error = err instanceof FernlinkError ? err : new FernlinkError("invalid-input", "the forwarded stream is malformed", { cause: err });
    if (!nodeStream.destroyed && !nodeStream.headersSent) nodeStream.respond(errorResponseHeaders(error), { endStream: true });
    return;
  }
  if (nodeStream.destroyed || nodeStream.closed) {
    abortStream(agentStream);
    return;
  }
  nodeStream.respond({ ":status": 200, ...protocolHeaders(protocol) });
  await new Promise<void>((resolve) => {
    let ended: (() => void) | undefined;
    const counts = joinStreams(nodeStream, agentStream, () => {
      ended?.();
      resolve();
    });
    ended = onStart(counts);
  });
}
