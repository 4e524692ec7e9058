import { CidrSyntaxError, formatCidr, networkCidr, parseCidr } from "./cidr.js";
import { networkOf, parseIpAddress } from "./ip-address.js";
import type { StreamRequest } from "./relay-access.js";
import type { StreamProtocol } from "./stream-headers.js";
import type { HostPort } from "./target.js";

/**
 * Published ports (forward jobs), as the access service and the relay that listens for them
 * share them: the job, its live counters, the whitelist check, and the operator's port range.
 */

/** A published port as the listener needs it. */
export interface PublishJob {
  id: string;
  accountId: string;
  name: string;
  deviceId: string;
  deviceName: string;
  port: number;
  target: HostPort;
  /** "tcp": a listener, one stream per connection; "udp": a socket, one stream per source address and port. */
  protocol: StreamProtocol;
  /** Canonical CIDRs a connection (or a datagram) may come from; empty: any source. */
  allowFrom: string[];
  logData: boolean;
}

/** What a listener counted for one job since it was opened. */
export interface PublishStats {
  listening: boolean;
  /** Connections accepted and forwarded (UDP: mappings whose stream opened). */
  accepted: number;
  /** Connections from outside the whitelist, closed before any stream opened (UDP: datagrams dropped). */
  refused: number;
  /** Connections (UDP: mappings) whose stream could not be opened (rules, device offline, target refused). */
  errors: number;
  /** The last failure, for the live table. */
  lastError?: string;
  /** Bytes held in the data log (0 without --log-data). */
  logBytes: number;
}

/** The ports an operator lets jobs use (`--publish-ports LOW-HIGH`). */
export interface PortRange {
  low: number;
  high: number;
}

/** The side of a relay's host that opens and closes the listeners of published ports. */
export interface PortPublisher {
  /** The host the listeners bind (the relay's --listen host). */
  readonly host: string;
  /** The ports jobs may use; undefined: none. */
  readonly range: PortRange | undefined;
  /** Listens for `job` (replacing an earlier listener of the same id); throws FernlinkError "conflict" when the OS has the port taken. */
  open(job: PublishJob): Promise<void>;
  /** Stops listening for a job; its data connections stay until they end or are cut. */
  close(jobId: string): void;
  /** The host a device's jobs listen on, when that is not `host` (a separate relay holds the device). */
  hostFor?(deviceId: string): string;
  /** The job's counters, while this node has it. */
  stats(jobId: string): PublishStats | undefined;
  /** The job's data log as text (see formatDataLog), or undefined when none is kept. */
  dataLog(jobId: string): string | undefined;
}

/** The `via` mark of a published port's streams, so removing the job cuts them. */
export function publishVia(jobId: string): string {
  return `publish:${jobId}`;
}

/** The stream a connection to a published port opens from `source`: the job's target, with the job owner's rights (no token). */
export function publishStreamRequest(job: PublishJob, source: string): StreamRequest {
  return {
    token: undefined,
    device: job.deviceName,
    target: job.target,
    source,
    via: publishVia(job.id),
    job: { id: job.id, accountId: job.accountId },
    ...(job.protocol === "udp" ? { protocol: job.protocol } : {}),
  };
}

/** The prefix of the `sessionId` of a published port's streams: they hold while the job exists. */
export const PUBLISH_SESSION_PREFIX = "publish:";

/** Parses `LOW-HIGH` (or a single port); throws a RangeError saying what is wrong. */
export function parsePortRange(text: string): PortRange {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  const low = Number(match?.[1]);
  const high = match?.[2] === undefined ? low : Number(match[2]);
  if (!match || low < 1 || high > 65535 || low > high) throw new RangeError(`"${text}" is not a port range like 15000-15099 (1-65535, low to high)`);
  return { low, high };
}

/** `LOW-HIGH` as the user wrote it. */
export function formatPortRange(range: PortRange | undefined): string {
  return range === undefined ? "none" : range.low === range.high ? String(range.low) : `${range.low}-${range.high}`;
}

/** Canonical whitelist entries (`10.0.0.0/8`; a bare address is a /32 or /128); throws CidrSyntaxError. */
export function canonicalAllowFrom(texts: readonly string[]): string[] {
  return [...new Set(texts.map((t) => formatCidr(networkCidr(parseCidr(t.trim())))))];
}

/** True when `address` (as a socket reports it, v4-mapped included) falls in one of the CIDRs; an empty list lets any source in. */
export function sourceAllowed(allowFrom: readonly string[], address: string): boolean {
  if (allowFrom.length === 0) return true;
  const ip = parseIpAddress(address);
  if (!ip) return false;
  return allowFrom.some((text) => {
    try {
      const cidr = parseCidr(text);
      const net = parseIpAddress(cidr.address);
      return net !== undefined && net.family === ip.family && networkOf(ip, cidr.prefix) === networkOf(net, cidr.prefix);
    } catch (err) {
      if (err instanceof CidrSyntaxError) return false;
      throw err;
    }
  });
}

/** A job an agent asks for: `fernlink agent run --publish N:HOST:PORT[,allow-from=CIDR]…[,udp]`. */
export interface AgentPublishSpec {
  port: number;
  /** `host:port` in the agent's LAN. */
  target: string;
  allowFrom: string[];
  /** Present only for a UDP port, so a service from before UDP ports still reads a TCP job. */
  protocol?: "udp";
}

/** Parses one `--publish N:HOST:PORT[,allow-from=CIDR]…[,udp]`; throws a RangeError saying what is wrong. */
export function parseAgentPublish(text: string): AgentPublishSpec {
  const [head = "", ...options] = text.split(",");
  const match = /^(\d{1,5}):(.+):(\d{1,5})$/.exec(head);
  const port = Number(match?.[1]);
  const targetPort = Number(match?.[3]);
  if (!match || port < 1 || port > 65535 || targetPort < 1 || targetPort > 65535) {
    throw new RangeError(`--publish "${text}" is not N:HOST:PORT[,allow-from=CIDR][,udp], e.g. 15020:192.168.1.10:502,allow-from=10.0.0.0/8`);
  }
  const allowFrom: string[] = [];
  let udp = false;
  for (const option of options) {
    if (option === "udp") {
      udp = true;
      continue;
    }
    const [key, value] = option.split("=", 2);
    if (key !== "allow-from" || !value) throw new RangeError(`--publish "${text}": unknown option "${option}" (only allow-from=CIDR and udp)`);
    try {
      allowFrom.push(...canonicalAllowFrom([value]));
    } catch (err) {
      throw new RangeError(`--publish "${text}": ${(err as Error).message}`);
    }
  }
  return { port, target: `${match[2]}:${targetPort}`, allowFrom, ...(udp ? { protocol: "udp" as const } : {}) };
}
