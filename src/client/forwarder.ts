import net from "node:net";
import type { Duplex } from "node:stream";
import { FernlinkError } from "../protocol/errors.js";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { joinStreams } from "../shared/join-streams.js";
import { STREAM_BUFFER_BYTES } from "../shared/stream-buffer.js";
import { abortStream } from "../shared/stream-cancel.js";
import { ConnectionSet } from "./connection-set.js";

/** Opens a stream to a target through the tunnel. */
export type OpenStream = (target: HostPort) => Promise<Duplex>;

/** A running local listener. */
export interface Listener {
  address: HostPort;
  /** The local connections it carries. */
  connections: ConnectionSet;
  /** Takes no more connections; those open go on. */
  stopAccepting(): void;
  /** Stops and cuts every open connection. */
  close(): Promise<void>;
}

/** Why a local port cannot be listened on, in words (`what` names the flag, e.g. "--socks"). */
export function listenError(err: NodeJS.ErrnoException, listen: HostPort, what: string): FernlinkError {
  const where = formatHostPort(listen);
  const reason =
    err.code === "EADDRINUSE"
      ? "another program already listens there"
      : err.code === "EACCES"
        ? "ports below 1024 need privileges"
        : err.code === "EADDRNOTAVAIL"
          ? "no local interface has that address"
          : (err.code ?? err.message);
  return new FernlinkError("conflict", `cannot listen on ${where} for ${what}: ${reason}; choose another local port (0 picks a free one)`, { cause: err });
}

/** Starts a TCP listener on the given address; resolves with the bound address. */
export function listenTcp(listen: HostPort, what: string, onConnection: (socket: net.Socket) => void): Promise<{ server: net.Server; address: HostPort }> {
  const server = net.createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true, highWaterMark: STREAM_BUFFER_BYTES }, onConnection);
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(listenError(err, listen, what)));
    server.listen(listen.port, listen.host, () => {
      const addr = server.address() as net.AddressInfo;
      resolve({ server, address: { host: addr.address, port: addr.port } });
    });
  });
}

/** A listener's shutdown: stop accepting, or stop and cut what is open. */
export function listenerControls(server: net.Server, connections: ConnectionSet): Pick<Listener, "stopAccepting" | "close"> {
  // "close" comes only once every connection has ended, so stopping does not wait for it.
  const closed = new Promise<void>((resolve) => server.once("close", () => resolve()));
  const stopAccepting = (): void => {
    if (server.listening) server.close();
  };
  return {
    stopAccepting,
    close: () => {
      stopAccepting();
      connections.destroyAll();
      return closed;
    },
  };
}

/**
 * A local port forward: every connection to `listen` becomes one stream to `target`.
 * A failed stream closes only that connection and is reported through `onError`.
 */
export async function startForward(listen: HostPort, target: HostPort, open: OpenStream, onError: (err: unknown, target: HostPort) => void): Promise<Listener> {
  const connections = new ConnectionSet();
  const { server, address } = await listenTcp(listen, `--forward to ${formatHostPort(target)}`, (socket) => {
    connections.add(socket);
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
  return { address, connections, ...listenerControls(server, connections) };
}
