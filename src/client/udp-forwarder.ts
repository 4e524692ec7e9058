import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { DatagramMappings, UDP_IDLE_MS } from "../shared/datagram-mappings.js";
import { ConnectionSet } from "./connection-set.js";
import { type Listener, listenError } from "./forwarder.js";

/** A local UDP forward, with its live mappings. */
export interface UdpListener extends Listener {
  /** Source addresses with a stream right now. */
  readonly mappings: number;
}

/** Binds a UDP socket on `listen`; resolves with the bound address. */
export function bindUdp(listen: HostPort, what: string): Promise<{ socket: Socket; address: HostPort }> {
  const socket = createSocket({ type: isIP(listen.host) === 6 ? "udp6" : "udp4" });
  return new Promise((resolve, reject) => {
    socket.once("error", (err: NodeJS.ErrnoException) => reject(listenError(err, listen, what)));
    socket.bind(listen.port, listen.host, () => {
      socket.removeAllListeners("error");
      // A send to a vanished source (ICMP port unreachable) must not end the forward.
      socket.on("error", () => {});
      const addr = socket.address();
      resolve({ socket, address: { host: addr.address, port: addr.port } });
    });
  });
}

/**
 * A local UDP forward: each source address that sends to `listen` gets its own stream to
 * `target` (a mapping), whose answers go back to that source; a mapping ends after `idleMs`
 * without a datagram either way. A datagram has nothing to finish, so stopping ends every
 * mapping at once: the forward holds no connections for a drain to wait on.
 */
export async function startUdpForward(
  listen: HostPort,
  target: HostPort,
  open: (target: HostPort) => Promise<Duplex>,
  onError: (err: unknown, target: HostPort) => void,
  idleMs = UDP_IDLE_MS,
): Promise<UdpListener> {
  const { socket, address } = await bindUdp(listen, `--forward-udp to ${formatHostPort(target)}`);
  const mappings = new DatagramMappings({ open, idleMs, onError });
  let closed = false;
  socket.on("message", (payload, from) => {
    mappings.send(`${from.address}|${from.port}`, target, payload, (answer) => {
      if (!closed) socket.send(answer, from.port, from.address);
    });
  });
  const close = (): Promise<void> => {
    if (closed) return Promise.resolve();
    closed = true;
    mappings.closeAll();
    return new Promise((resolve) => socket.close(() => resolve()));
  };
  return {
    address,
    connections: new ConnectionSet(),
    get mappings() {
      return mappings.size;
    },
    stopAccepting: () => void close(),
    close,
  };
}
