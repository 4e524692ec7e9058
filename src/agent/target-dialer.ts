import { lookup } from "node:dns/promises";
import { connect, isIP, type Socket } from "node:net";
import { FernlinkError } from "../protocol/errors.js";
import { formatIpAddress, parseIpAddress } from "../protocol/ip-address.js";
import { formatHostPort, type HostPort } from "../protocol/target.js";
import { describeTargets, entriesForPort, filterAllowsAddress, type TargetEntry } from "../protocol/target-filter.js";
import { STREAM_BUFFER_BYTES } from "../shared/stream-buffer.js";
import type { Allowlist } from "./allowlist.js";

/** How long the agent waits for a LAN target to accept a TCP connection. */
export const DIAL_TIMEOUT_MS = 10_000;

/** Resolves a target on the device side; IP literals in any spelling (`127.1`) pass through in canonical form. */
async function resolve(host: string): Promise<string[]> {
  const ip = parseIpAddress(host);
  if (ip) return [formatIpAddress(ip)];
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

/** The addresses the filter's host names resolve to (the target's own name reuses its lookup). */
async function resolveNames(entries: readonly TargetEntry[], target: HostPort, addresses: string[]): Promise<Map<string, string[]>> {
  const named = new Map<string, string[]>();
  const own = target.host.toLowerCase().replace(/\.$/, "");
  for (const entry of entriesForPort(entries, target.port)) {
    if (entry.host.kind !== "name" || named.has(entry.host.name)) continue;
    const name = entry.host.name;
    named.set(name, name === own ? addresses : await resolve(name).catch(() => []));
  }
  return named;
}

/** The addresses that both the agent's allowlist and the stream's allowed targets (if sent) let through. */
async function permittedAddresses(
  target: HostPort,
  addresses: string[],
  allowlist: Allowlist,
  streamTargets: readonly TargetEntry[] | undefined,
  deviceName: string,
): Promise<string[]> {
  const where = formatHostPort(target);
  const shown = addresses.join(", ") === target.host ? where : `${where} (${addresses.join(", ")})`;
  const allowed = addresses.filter((a) => allowlist.allows(a, target.port));
  if (allowed.length === 0) {
    throw new FernlinkError("target-not-allowed", `target ${shown} is not allowed by the agent of "${deviceName}" (it allows ${allowlist.describe()})`);
  }
  if (!streamTargets) return allowed;
  let both = allowed.filter((a) => filterAllowsAddress(streamTargets, a, target.port));
  if (both.length === 0 && streamTargets.some((e) => e.host.kind === "name")) {
    const named = await resolveNames(streamTargets, target, addresses);
    both = allowed.filter((a) => filterAllowsAddress(streamTargets, a, target.port, named));
  }
  if (both.length === 0) {
    throw new FernlinkError(
      "target-not-allowed",
      `target ${shown} is outside the access rules of this stream on "${deviceName}" (they allow ${describeTargets(streamTargets)})`,
    );
  }
  return both;
}

/**
 * Resolves the target and keeps the addresses that both the allowlist and the stream's
 * allowed targets let through (the same check for TCP and UDP); throws "target-not-allowed".
 */
export async function allowedAddresses(target: HostPort, allowlist: Allowlist, deviceName: string, streamTargets?: readonly TargetEntry[]): Promise<string[]> {
  return permittedAddresses(target, await resolve(target.host), allowlist, streamTargets, deviceName);
}

/**
 * Resolves the target, checks every candidate address against the allowlist and against
 * the stream's allowed targets *after* resolution (a host name cannot smuggle in a
 * forbidden address), then dials the first address both let through.
 */
export async function dialTarget(target: HostPort, allowlist: Allowlist, deviceName: string, streamTargets?: readonly TargetEntry[]): Promise<Socket> {
  const where = formatHostPort(target);
  const allowed = await allowedAddresses(target, allowlist, deviceName, streamTargets);
  return new Promise((resolveSocket, reject) => {
    // connect() hands these to the socket's Duplex, which takes highWaterMark (@types/node leaves it out).
    const options = { host: allowed[0]!, port: target.port, noDelay: true, allowHalfOpen: true, highWaterMark: STREAM_BUFFER_BYTES };
    const socket = connect(options);
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
