import type { Socket } from "node:net";

/** The local connections a listener holds, so that a shutdown can let them finish or cut them. */
export class ConnectionSet {
  private readonly sockets = new Set<Socket>();
  private readonly emptyWaiters = new Set<() => void>();

  /** Tracks a socket until it closes. */
  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      if (this.sockets.size === 0) for (const resolve of this.emptyWaiters) resolve();
    });
  }

  /** Connections still open. */
  get size(): number {
    return this.sockets.size;
  }

  /** Resolves once no connection is open (at once when none is). */
  whenEmpty(): Promise<void> {
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.emptyWaiters.delete(done);
        resolve();
      };
      this.emptyWaiters.add(done);
    });
  }

  /** Cuts every open connection. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
