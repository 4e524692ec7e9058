import { lookup } from "node:dns/promises";
import { connect, isIP, type Socket } from "node:net";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { FernlinkError } from "../shared/errors.js";
import type { Allowlist } from "./allowlist.js";

/** How long the agent waits for a LAN target to accept a TCP connection. */
export const DIAL_TIMEOUT_MS = 10_000;

/** Resolves a target on the device side; IP literals pass through unchanged. */
async function resolve(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch (err) {
    throw new FernlinkError("target-unreachable", `target host "${host}" cannot be resolved in the device LAN`, { cause: err });
  }
}

function dialError(err: NodeJS.ErrnoException, where: string): FernlinkError {
  switch (err.code) {
    case "ECONNREFUSED":
      return new FernlinkError("target-refused", `target ${where} refused the connection`, { cause: err });
    case "ABORT_ERR":
    case "ETIMEDOUT":
      return new FernlinkError("target-timeout", `target ${where} did not answer within ${DIAL_TIMEOUT_MS / 1000} s`, { cause: err });
    default:
      return new FernlinkError("target-unreachable", `target ${where} is unreachable (${err.code ?? err.message})`, { cause: err });
  }
}

/**
 * Resolves the target, checks every candidate address against the allowlist *after*
 * resolution (a host name cannot smuggle in a forbidden address), then dials the first
 * allowed address.
 */
export async function dialTarget(target: HostPort, allowlist: Allowlist, deviceName: string): Promise<Socket> {
  const where = formatHostPort(target);
  const addresses = await resolve(target.host);
  const allowed = addresses.filter((a) => allowlist.allows(a, target.port));
  if (allowed.length === 0) {
    const shown = addresses.join(", ") === target.host ? where : `${where} (${addresses.join(", ")})`;
    throw new FernlinkError(
      "target-not-allowed",
      `target ${shown} is not allowed by the agent of "${deviceName}" (it allows ${allowlist.describe()})`,
    );
  }
  return new Promise((resolveSocket, reject) => {
    const socket = connect({ host: allowed[0]!, port: target.port, noDelay: true, allowHalfOpen: true });
    // Not an AbortSignal on connect(): that would also cut the socket later, mid-stream.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(dialError(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" }), where));
    }, DIAL_TIMEOUT_MS);
    const failed = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      reject(dialError(err, where));
    };
    socket.once("error", failed);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeListener("error", failed);
      resolveSocket(socket);
    });
  });
}
