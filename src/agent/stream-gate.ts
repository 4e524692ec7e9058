import type { Duplex } from "node:stream";
import { FernlinkError } from "../protocol/errors.js";
import { REMOTE_ACCESS_OFF_MESSAGE } from "../protocol/key-switch.js";

/** The refusal of a stream while the key switch forbids remote access. */
export function remoteAccessOff(): FernlinkError {
  return new FernlinkError("remote-access-off", REMOTE_ACCESS_OFF_MESSAGE);
}

/**
 * Where the agent enforces its key switch on streams: new streams are refused unless it is at
 * `remote`, and the open ones (their target sockets) are held so a turn of the switch closes
 * them at once. The agent decides this itself; nothing the service sends can open the gate.
 */
export class StreamGate {
  readonly #open: () => boolean;
  readonly #sockets = new Set<Duplex>();

  /** `open` says whether the switch allows streams now. */
  constructor(open: () => boolean) {
    this.#open = open;
  }

  /** Throws the typed refusal unless streams are allowed now. */
  check(): void {
    if (!this.#open()) throw remoteAccessOff();
  }

  /** Holds an open stream's target socket until it closes. */
  track(socket: Duplex): void {
    if (socket.destroyed) return;
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
  }

  /** How many streams are open through the gate. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Closes every open stream (its target socket, which ends the tunnel stream joined to it); returns how many. */
  closeAll(): number {
    const sockets = [...this.#sockets];
    this.#sockets.clear();
    for (const socket of sockets) socket.destroy(remoteAccessOff());
    return sockets.length;
  }
}
