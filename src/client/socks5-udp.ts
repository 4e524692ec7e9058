import type { Socket as UdpSocket } from "node:dgram";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { DatagramMappings } from "../shared/datagram-mappings.js";
import { encodeReply, encodeUdpDatagram, parseUdpDatagram, REP } from "./socks5-codec.js";
import { bindUdp } from "./udp-forwarder.js";

/** How a SOCKS5 UDP association reaches targets. */
export interface UdpAssociateOptions {
  openUdp: (target: HostPort) => Promise<Duplex>;
  idleMs: number;
  onError?: ((err: unknown, target: HostPort | undefined) => void) | undefined;
}

/** `::ffff:a.b.c.d` as `a.b.c.d`: a dual-stack listener reports IPv4 peers so, and UDP must bind and match the plain form. */
function plainAddress(address: string | undefined): string {
  const text = address ?? "127.0.0.1";
  return text.toLowerCase().startsWith("::ffff:") && text.includes(".") ? text.slice(7) : text;
}

/**
 * Serves one UDP ASSOCIATE (RFC 1928 §7): binds a UDP relay on the control connection's local
 * address, answers with its address, then carries each datagram from the client to the
 * target named in its header, one stream per target, and answers come back with the target in
 * the header. Only datagrams from the control connection's peer (and the port it named, if
 * any) are taken. The association ends with the control connection.
 */
export async function serveUdpAssociate(control: Socket, requested: HostPort, options: UdpAssociateOptions): Promise<void> {
  const local = { host: plainAddress(control.localAddress), port: 0 };
  const { socket: relay, address } = await bindUdp(local, "SOCKS5 UDP ASSOCIATE");
  const clientHost = plainAddress(control.remoteAddress);
  let clientPort = requested.port;
  const mappings = new DatagramMappings({ open: options.openUdp, idleMs: options.idleMs, onError: (err, t) => options.onError?.(err, t) });
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    mappings.closeAll();
    relay.close();
  };
  control.once("close", end);
  if (control.destroyed) return end();
  relay.on("message", (message, from) => onClientDatagram(relay, message, from));

  function onClientDatagram(udp: UdpSocket, message: Buffer, from: { address: string; port: number }): void {
    if (plainAddress(from.address) !== clientHost) return;
    if (clientPort !== 0 && from.port !== clientPort) return;
    // The first datagram tells the port the client sends from, when the request left it open.
    clientPort = from.port;
    let parsed: ReturnType<typeof parseUdpDatagram>;
    try {
      parsed = parseUdpDatagram(message);
    } catch {
      return; // RFC 1928 §7: a datagram the relay cannot or will not relay is dropped silently.
    }
    const { target, data } = parsed;
    mappings.send(formatHostPort(target), target, Buffer.from(data), (answer) => {
      if (!ended) udp.send(encodeUdpDatagram({ target, data: answer }), from.port, from.address);
    });
  }

  control.write(encodeReply(REP.succeeded, address));
  // The control connection carries nothing more; read it so its end is seen, and end ours then.
  control.on("data", () => {});
  control.once("end", () => control.end());
  control.resume();
}
