import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { AccessContext } from "../access/context.js";
import { publishJob } from "../access/published-ports.js";
import { relayOfCertificate } from "../access/relays.js";
import { getPublishedPort } from "../access/store/published-ports.js";
import { FernlinkError } from "../protocol/errors.js";
import { type PublishJob, publishStreamRequest } from "../protocol/published-ports.js";
import type { StreamRequest } from "../protocol/relay-access.js";
import { PUBLISH_HEADER } from "../protocol/relay-link.js";
import { errorResponseHeaders, protocolHeaders, readHeader, type StreamProtocol } from "../protocol/stream-headers.js";
import { joinStreams } from "../shared/join-streams.js";
import { abortStream, resetOnCancel } from "../shared/stream-cancel.js";

/** What answering a relay's published-port stream needs from the access node. */
export interface PublishStreamDeps {
  ctx: AccessContext;
  /** Whether relay `relayId` is linked to this node and holds the device's tunnel. */
  relayHolds(relayId: string, deviceId: string): boolean;
  /** The node's relay's in-process stream opener (authorised, audited, listed; forwarded to the relay holding the device). */
  openStream(request: StreamRequest): Promise<Duplex>;
  /** Keeps the job's data log of the connection (relayed-data-logs.ts): `fromSource` carries the client's bytes, `fromTarget` the answers. */
  logData(job: PublishJob, fromSource: Duplex, fromTarget: Duplex): void;
}

/**
 * Answers the CONNECT stream a relay opens for a connection to one of its published ports
 * (PUBLISH_HEADER): only from a current relay certificate, for an active job whose device that
 * relay holds. The job's target and protocol come from the store, never from the relay; the
 * stream is opened with the job owner's rights exactly as the node's own listener does, and
 * its bytes travel back to the relay and onto the device's tunnel. As they all pass through here,
 * this node keeps the job's data log (--log-data) as its own listener would.
 */
export async function answerPublishStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, deps: PublishStreamDeps): Promise<void> {
  resetOnCancel(stream);
  let opened: Duplex;
  let job: PublishJob;
  let protocol: StreamProtocol = "tcp";
  try {
    const socket = stream.session?.socket as TLSSocket | undefined;
    const cert = socket?.authorized ? socket.getPeerCertificate() : undefined;
    if (!cert?.serialNumber) throw new FernlinkError("forbidden", "only relays open published ports' streams");
    const relay = await relayOfCertificate(deps.ctx.db, cert);
    const jobId = readHeader(headers, PUBLISH_HEADER.job) ?? "";
    const source = readHeader(headers, PUBLISH_HEADER.source) ?? "";
    if (isIP(source) === 0) throw new FernlinkError("invalid-input", `a published port's stream needs ${PUBLISH_HEADER.source} with an IP address`);
    const row = await getPublishedPort(deps.ctx.db, jobId);
    if (row?.state !== "active" || !deps.relayHolds(relay.id, row.device_id))
      throw new FernlinkError("not-found", "no such published port on this relay (removed, paused, or its device moved)");
    job = publishJob(row);
    protocol = job.protocol;
    opened = await deps.openStream(publishStreamRequest(job, source));
  } catch (err) {
    const error = err instanceof FernlinkError ? err : new FernlinkError("internal", "the published port's stream failed", { cause: err });
    if (!stream.destroyed && !stream.headersSent) stream.respond(errorResponseHeaders(error), { endStream: true });
    return;
  }
  if (stream.destroyed || stream.closed) return void abortStream(opened);
  stream.respond({ ":status": 200, ...protocolHeaders(protocol) });
  deps.logData(job, stream, opened);
  // An error on either side aborts both (join-streams.ts); a normal end half-closes each way.
  await new Promise<void>((resolve) => joinStreams(stream, opened, () => resolve()));
}
