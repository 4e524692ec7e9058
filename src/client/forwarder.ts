import net from "node:net";
import type { Duplex } from "node:stream";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { joinStreams } from "../shared/join-streams.js";
import { abortStream } from "../shared/stream-cancel.js";

/** Opens a stream to a target through the tunnel. */
export type OpenStream = (target: HostPort) => Promise<Duplex>;

/** A running local listener. */
export interface Listener {
  address: HostPort;
  close(): Promise<void>;
}

/** Starts a TCP listener on the given address; resolves with the bound address. */
export function listenTcp(listen: HostPort, onConnection: (socket: net.Socket) => void): Promise<{ server: net.Server; address: HostPort }> {
  const server = net.createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${formatHostPort(listen)} (${err.code ?? err.message}); choose another local port`)),
    );
    server.listen(listen.port, listen.host, () => {
      const addr = server.address() as net.AddressInfo;
      resolve({ server, address: { host: addr.address, port: addr.port } });
    });
  });
}

/** Closes a server and every connection it still holds. */
export function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A local port forward: every connection to `listen` becomes one stream to `target`.
 * A failed stream closes only that connection and is reported through `onError`.
 */
export async function startForward(
  listen: HostPort,
  target: HostPort,
  open: OpenStream,
  onError: (err: unknown, target: HostPort) => void,
): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const { server, address } = await listenTcp(listen, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    open(target).then(
      (stream) => {
        if (socket.destroyed) return abortStream(stream);
        joinStreams(socket, stream);
        socket.resume();
      },
      (err: unknown) => {
        onError(err, target);
        socket.destroy();
      },
    );
  });
  return { address, close: () => closeServer(server, sockets) };
}
