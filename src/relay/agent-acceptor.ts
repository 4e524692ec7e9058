import http2 from "node:http2";
import type { TLSSocket } from "node:tls";
import { errorMessage } from "../protocol/errors.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { type KeepaliveOptions, watchKeepalive } from "../shared/keepalive.js";
import type { Logger } from "../shared/log.js";
import { deviceIdFromCertificate, serialOf } from "../shared/pki.js";
import { readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";
import { AgentTunnel } from "./agent-tunnel.js";
import type { LaneBoard } from "./lane-board.js";
import type { TunnelRegistry } from "./tunnel-registry.js";

/** The serial and device id of a socket's peer certificate (chain checked by TLS already). */
export function certificatePeer(socket: TLSSocket): { serial: string; deviceId: string | undefined } | undefined {
  const cert = socket.getPeerCertificate();
  return cert?.serialNumber ? { serial: serialOf(cert), deviceId: deviceIdFromCertificate(cert) } : undefined;
}

/** What the relay needs to accept an agent: a way to check its certificate. */
export interface AgentAcceptorDeps {
  /** Resolves the device behind a chain-verified certificate; throws when it is unknown or revoked. */
  authenticate(peer: { serial: string; deviceId: string | undefined }): Promise<AgentIdentity>;
  /** Reads the serial and device id from the socket's peer certificate. */
  peerIdentity(socket: TLSSocket): { serial: string; deviceId: string | undefined } | undefined;
  registry: TunnelRegistry;
  log: Logger;
  now: () => Date;
  keepalive?: KeepaliveOptions;
  /** Where lanes this relay asks its agents for arrive; absent: streams stay on the tunnels. */
  lanes?: LaneBoard;
}

/**
 * Takes a TLS socket that negotiated the agent ALPN: checks the device certificate, then
 * becomes the HTTP/2 client over it (reversed roles) and registers the tunnel.
 */
export async function acceptAgent(socket: TLSSocket, deps: AgentAcceptorDeps): Promise<AgentTunnel | undefined> {
  const acceptedAt = deps.now();
  const address = `${socket.remoteAddress}:${socket.remotePort}`;
  const refuse = (why: string): undefined => {
    deps.log.warn("agent refused", { address, why });
    socket.destroy();
    return undefined;
  };
  if (!socket.authorized) return refuse(`certificate not accepted: ${String(socket.authorizationError ?? "none presented")}`);
  const peer = deps.peerIdentity(socket);
  if (!peer) return refuse("no certificate presented");
  let identity: AgentIdentity;
  try {
    identity = await deps.authenticate(peer);
  } catch (err) {
    return refuse(errorMessage(err));
  }
  if (socket.destroyed) return undefined;

  const session = http2.connect(`http://${identity.deviceId}.device`, {
    ...TUNNEL_SESSION_OPTIONS,
    createConnection: () => socket,
  });
  readyTunnelSession(session, (err) => deps.log.debug("agent session error", { device: identity.deviceName, error: err.message }));
  const tunnel = new AgentTunnel(identity, address, session, acceptedAt, deps.lanes);
  // The agent PINGs; the relay only listens, so an idle device costs one PING and its answer per interval.
  watchKeepalive(session, {
    ...deps.keepalive,
    onDead: () => deps.log.warn("agent keep-alive timed out", { device: identity.deviceName, address }),
  });
  if (!deps.registry.add(tunnel)) return refuse("a newer connection of the device is already up");
  // A revocation that committed while we authenticated found no tunnel to cut: look again.
  try {
    await deps.authenticate(peer);
  } catch (err) {
    tunnel.destroy();
    return refuse(errorMessage(err));
  }
  deps.log.info("agent connected", { device: identity.deviceName, address });
  tunnel.once("close", () => deps.log.info("agent disconnected", { device: identity.deviceName, address }));
  return tunnel;
}
