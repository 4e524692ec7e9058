import { isIP } from "node:net";

/** A TCP endpoint: a host name or IP literal and a port. */
export interface HostPort {
  host: string;
  port: number;
}

/** Why a `host:port` text could not be parsed. */
export class TargetSyntaxError extends Error {
  override readonly name = "TargetSyntaxError";
  readonly code = "invalid-target";
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

/** Parses a port number 1–65535 (0 too when `allowZero`, for "any free port"). */
export function parsePort(text: string, allowZero = false): number {
  if (!/^\d{1,5}$/.test(text)) throw new TargetSyntaxError(`port "${text}" is not a number`);
  const port = Number(text);
  if (port > 65535 || (port === 0 && !allowZero)) throw new TargetSyntaxError(`port "${text}" is out of range (1-65535)`);
  return port;
}

/** Checks a host: an IPv4/IPv6 literal or a DNS name. */
export function parseHost(text: string): string {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (isIP(host) !== 0 || HOSTNAME.test(host)) return host;
  throw new TargetSyntaxError(`host "${text}" is neither an IP address nor a host name`);
}

/** Splits `host:port` or `[v6]:port` into its parts. */
export function parseHostPort(text: string, allowZeroPort = false): HostPort {
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket) return { host: parseHost(bracket[1]!), port: parsePort(bracket[2]!, allowZeroPort) };
  const idx = text.lastIndexOf(":");
  if (idx <= 0) throw new TargetSyntaxError(`"${text}" is not HOST:PORT`);
  const host = text.slice(0, idx);
  if (host.includes(":")) throw new TargetSyntaxError(`"${text}": write IPv6 addresses in brackets, e.g. [::1]:502`);
  return { host: parseHost(host), port: parsePort(text.slice(idx + 1), allowZeroPort) };
}

/** Formats an endpoint back to `host:port`, bracketing IPv6. */
export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A local port forward: where to listen and which target in the device LAN to reach. */
export interface ForwardSpec {
  listen: HostPort;
  target: HostPort;
}

/** Splits `[LHOST:]LPORT:THOST:TPORT` (hosts may be bracketed IPv6). */
export function parseForward(text: string, defaultListenHost = "127.0.0.1"): ForwardSpec {
  const host = String.raw`(\[[^\]]+\]|[^:\[\]]+)`;
  const match = new RegExp(String.raw`^(?:${host}:)?(\d+):${host}:(\d+)$`).exec(text);
  if (!match) {
    const hint = text.includes("::") && !text.includes("[") ? "; write IPv6 addresses in brackets" : ", e.g. 5020:192.168.1.10:502";
    throw new TargetSyntaxError(`forward "${text}" is not [LHOST:]LPORT:THOST:TPORT${hint}`);
  }
  const [, lhost, lport, thost, tport] = match as unknown as [string, string | undefined, string, string, string];
  return {
    listen: { host: lhost === undefined ? defaultListenHost : parseHost(lhost), port: parsePort(lport, true) },
    target: { host: parseHost(thost), port: parsePort(tport) },
  };
}

/** Parses `[HOST:]PORT` for a local listener. */
export function parseListen(text: string, defaultHost = "127.0.0.1"): HostPort {
  if (/^\d+$/.test(text)) return { host: defaultHost, port: parsePort(text, true) };
  return parseHostPort(text, true);
}
