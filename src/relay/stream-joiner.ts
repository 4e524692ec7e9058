import { randomUUID } from "node:crypto";
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { errorResponseHeaders, HEADER, readConnectTarget, readHeader } from "../protocol/stream-headers.js";
import { formatHostPort } from "../protocol/target.js";
import { FernlinkError } from "../shared/errors.js";
import { deviceOfflineError } from "../shared/format.js";
import { joinStreams } from "../shared/join-streams.js";
import type { Logger } from "../shared/log.js";
import type { LiveStream, Requester, StreamAuthority, StreamGrant, StreamRequest } from "../protocol/relay-access.js";
import type { TunnelRegistry } from "./tunnel-registry.js";

/** What joining a client stream to an agent needs. */
export interface StreamJoinerDeps {
  authority: StreamAuthority;
  /** Live streams by id, with a way to cut each. */
  live: Map<string, LiveStream & { cut: () => void }>;
  registry: TunnelRegistry;
  log: Logger;
  now: () => Date;
}

function bearer(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  return value?.startsWith("Bearer ") ? value.slice(7) : undefined;
}

/**
 * Handles one client CONNECT stream: authorise, open the matching stream to the device's
 * agent, answer 200 once the agent reached the target, then pipe bytes both ways.
 * Resolves when the stream is over and its end was recorded.
 */
export async function joinClientStream(
  clientStream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  source: string,
  deps: StreamJoinerDeps,
): Promise<void> {
  let request: StreamRequest | undefined;
  let requester: Requester | undefined;
  let grant: StreamGrant | undefined;
  try {
    const device = readHeader(headers, HEADER.device);
    if (!device) throw new FernlinkError("invalid-input", `CONNECT needs a ${HEADER.device} header`);
    request = { token: bearer(headers), device, target: readConnectTarget(headers), source };
    requester = await deps.authority.authenticate(request);
    grant = await deps.authority.authorize(requester, request);
    const tunnel = deps.registry.get(grant.deviceId);
    if (!tunnel) throw deviceOfflineError(grant.deviceName, grant.lastSeen);
    const streamId = randomUUID();
    const agentStream = await tunnel.openStream(request.target, { streamId, user: grant.userName, allowedTargets: grant.allowedTargets });
    if (clientStream.destroyed) {
      agentStream.close();
      return;
    }
    clientStream.respond({ ":status": 200 });
    const startedAt = deps.now();
    deps.authority.record({ kind: "opened", streamId, request, grant, at: startedAt });
    deps.live.set(streamId, {
      streamId,
      request,
      grant,
      startedAt,
      cut: () => {
        // While piped, close() alone leaves its RST_STREAM unsent (Node 20); ending first sends it.
        clientStream.end();
        clientStream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        agentStream.close(http2.constants.NGHTTP2_CANCEL);
      },
    });
    await new Promise<void>((resolve) =>
      joinStreams(clientStream, agentStream, ({ bytesAtoB, bytesBtoA, error }) => {
        deps.live.delete(streamId);
        deps.authority.record({ kind: "closed", streamId, bytesUp: bytesAtoB, bytesDown: bytesBtoA, error, at: deps.now() });
        resolve();
      }),
    );
  } catch (err) {
    const error = err instanceof FernlinkError ? err : new FernlinkError("internal", "the relay failed to open the stream", { cause: err });
    if (!(err instanceof FernlinkError)) deps.log.error("stream failed", { error: String(err) });
    if (request) {
      deps.authority.record({ kind: "refused", request, requester, grant, error, at: deps.now() });
    }
    deps.log.debug("stream refused", { target: request ? formatHostPort(request.target) : undefined, code: error.code });
    if (!clientStream.destroyed && !clientStream.headersSent) {
      clientStream.respond(errorResponseHeaders(error), { endStream: true });
    }
  }
}
