import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { FernlinkError } from "../protocol/errors.js";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import type { TargetEntry } from "../protocol/target-filter.js";
import type { Allowlist } from "./allowlist.js";
import { allowedAddresses } from "./target-dialer.js";

/**
 * Opens a connected UDP socket to a LAN target after the same checks as a TCP dial (allowlist
 * and the stream's allowed targets, after resolution). Connected, so the kernel delivers only
 * the target's own datagrams and the socket's errors name it. Nothing is sent yet: UDP has no
 * handshake, so an absent target shows up only as unanswered datagrams.
 */
export async function dialUdpTarget(target: HostPort, allowlist: Allowlist, deviceName: string, streamTargets?: readonly TargetEntry[]): Promise<Socket> {
  const address = (await allowedAddresses(target, allowlist, deviceName, streamTargets))[0]!;
  const socket = createSocket(isIP(address) === 6 ? "udp6" : "udp4");
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      socket.close();
      reject(new FernlinkError("target-unreachable", `target ${formatHostPort(target)} is unreachable over UDP (${err.code ?? err.message})`, { cause: err }));
    };
    socket.once("error", failed);
    socket.connect(target.port, address, () => {
      socket.off("error", failed);
      resolve(socket);
    });
  });
}
