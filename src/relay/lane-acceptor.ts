import type { TLSSocket } from "node:tls";
import { LANE_HEADER, type LaneMessage } from "../protocol/lane.js";
import { holdHalfOpen, readLaneMessage } from "../shared/lane-io.js";
import type { Logger } from "../shared/log.js";
import type { AgentAcceptorDeps } from "./agent-acceptor.js";
import type { LaneBoard } from "./lane-board.js";

/** How long a lane may take to send its message after TLS. */
const LANE_MESSAGE_MS = 10_000;

/** What taking a lane needs: the offers, and how to read an agent's certificate. */
export interface LaneAcceptorDeps {
  board: LaneBoard;
  peerIdentity: AgentAcceptorDeps["peerIdentity"];
  log: Logger;
}

/**
 * Takes a TLS socket that negotiated the lane ALPN, reads its one message and hands it to the
 * stream that offered its nonce (to a device's offer only with that device's certificate).
 * Resolves true when a stream took it; anything else is closed.
 */
export async function acceptLane(socket: TLSSocket, deps: LaneAcceptorDeps): Promise<boolean> {
  holdHalfOpen(socket);
  let message: LaneMessage;
  try {
    message = await readLaneMessage(socket, LANE_MESSAGE_MS);
  } catch (err) {
    deps.log.debug("lane closed before its message", { address: socket.remoteAddress, error: String(err) });
    return false;
  }
  const nonce = message[LANE_HEADER];
  // `authorized` alone is no proof on a resumed session; a certificate that was shown has a serial.
  const peer = socket.authorized ? deps.peerIdentity(socket) : undefined;
  if (typeof nonce === "string" && deps.board.deliver(nonce, peer?.deviceId, socket)) return true;
  deps.log.debug("lane refused: no stream offered it", { address: socket.remoteAddress });
  socket.destroy();
  return false;
}
