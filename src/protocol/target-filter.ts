import { addressBits, formatIpAddress, type IpAddress, networkOf, parseIpAddress } from "./ip-address.js";
import { formatHostPort, type HostPort, parseHost, parsePort, TargetSyntaxError } from "./target.js";

/**
 * Target filters: the `host[:port,port…]` entries of an access rule's `--targets`, where
 * the host is an IP address, a CIDR range or a host name. The relay judges IP-literal
 * targets against the ranges; a host name can only be judged after it is resolved, so the
 * agent checks every resolved address against the same entries again.
 */

/** The host part of an entry: an address range, or a name that stands for what it resolves to. */
export type FilterHost = { kind: "range"; family: 4 | 6; network: bigint; prefix: number } | { kind: "name"; name: string };

/** One `--targets` entry; `ports` undefined means every port. */
export interface TargetEntry {
  host: FilterHost;
  ports: readonly number[] | undefined;
}

/** What the relay can say about a target before any name is resolved. */
export type TargetVerdict = "allowed" | "denied" | "ask-agent";

function syntax(text: string, why: string): TargetSyntaxError {
  return new TargetSyntaxError(`target filter "${text}" ${why}; write HOST[:PORT[,PORT…]] with HOST an IP, CIDR or name, e.g. 192.168.1.10:502,80`);
}

function parsePorts(text: string, whole: string): number[] {
  try {
    return [...new Set(text.split(",").map((p) => parsePort(p)))].sort((a, b) => a - b);
  } catch {
    throw syntax(whole, "has a bad port list");
  }
}

function rangeOf(ip: IpAddress, prefixText: string | undefined, written6: boolean, whole: string): FilterHost {
  // `::ffff:10.0.0.0/104` is the IPv4 range 10.0.0.0/8 written in IPv6.
  const max = written6 ? 128 : addressBits(ip.family);
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) throw syntax(whole, "has a bad prefix length");
  let prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) throw syntax(whole, `has a prefix length over ${max}`);
  if (written6 && ip.family === 4) {
    if (prefix < 96) throw syntax(whole, "mixes IPv4-mapped and other IPv6 addresses");
    prefix -= 96;
  }
  return { kind: "range", family: ip.family, network: networkOf(ip, prefix), prefix };
}

/** Parses one entry; throws TargetSyntaxError naming the entry. */
export function parseTargetEntry(text: string): TargetEntry {
  let host: string;
  let prefix: string | undefined;
  let ports: string | undefined;
  const bracket = /^\[([^\]/]+)(?:\/([^\]]*))?\](?:\/([^:]*))?(?::(.*))?$/.exec(text);
  const slash = /^([^/]+)\/([^:/]*)(?::(.*))?$/.exec(text);
  const v6Slash = /^([^/]*:[^/]*)\/(\d+)(?::(.*))?$/.exec(text);
  if (bracket) [host, prefix, ports] = [bracket[1]!, bracket[2] ?? bracket[3], bracket[4]];
  else if (v6Slash) [host, prefix, ports] = [v6Slash[1]!, v6Slash[2], v6Slash[3]];
  else if (slash) [host, prefix, ports] = [slash[1]!, slash[2], slash[3]];
  else if ((text.match(/:/g) ?? []).length >= 2) host = text;
  else [host, ports] = text.includes(":") ? [text.slice(0, text.indexOf(":")), text.slice(text.indexOf(":") + 1)] : [text, undefined];
  if (host === "") throw syntax(text, "has no host");
  const ip = parseIpAddress(host);
  let filterHost: FilterHost;
  if (ip) filterHost = rangeOf(ip, prefix, host.includes(":"), text);
  else if (prefix !== undefined) throw syntax(text, "has a prefix length after a name");
  else filterHost = { kind: "name", name: filterName(host, bracket !== null, text) };
  return { host: filterHost, ports: ports === undefined ? undefined : parsePorts(ports, text) };
}

function filterName(host: string, bracketed: boolean, whole: string): string {
  let name: string | undefined;
  try {
    name = bracketed ? undefined : normaliseName(parseHost(host));
  } catch {
    name = undefined;
  }
  // A numeric last label makes it an (invalid) IPv4 address to resolvers, not a name.
  if (name === undefined || name.includes(":") || /^(?:0x[0-9a-f]*|\d+)$/i.test(name.split(".").pop() ?? "")) {
    throw syntax(whole, "has a host that is neither an IP address, a range nor a name");
  }
  return name;
}

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** The canonical text of an entry: equal entries format equally. */
export function formatTargetEntry(entry: TargetEntry): string {
  const { host, ports } = entry;
  let text: string;
  if (host.kind === "name") text = host.name;
  else {
    const address = formatIpAddress({ family: host.family, value: host.network });
    const full = host.prefix === addressBits(host.family);
    text = full ? address : `${address}/${host.prefix}`;
    if (host.family === 6 && ports) text = `[${address}]${full ? "" : `/${host.prefix}`}`;
  }
  return ports ? `${text}:${ports.join(",")}` : text;
}

/** Parses a list of entries and returns them canonical and without duplicates. */
export function canonicalTargets(texts: readonly string[]): string[] {
  return [...new Set(texts.map((t) => formatTargetEntry(parseTargetEntry(t))))];
}

/** True when the entry lets `port` through. */
export function entryAllowsPort(entry: TargetEntry, port: number): boolean {
  return entry.ports === undefined || entry.ports.includes(port);
}

/** True when an address falls in the entry's range (names never match here: resolve them first). */
export function rangeContains(entry: TargetEntry, ip: IpAddress): boolean {
  const { host } = entry;
  return host.kind === "range" && host.family === ip.family && networkOf(ip, host.prefix) === host.network;
}

/** True when a resolved address and port pass some entry; `named` are the addresses the entries' names resolved to. */
export function filterAllowsAddress(
  entries: readonly TargetEntry[],
  address: string,
  port: number,
  named: ReadonlyMap<string, readonly string[]> = new Map(),
): boolean {
  const ip = parseIpAddress(address);
  if (!ip) return false;
  return entries.some((e) => {
    if (!entryAllowsPort(e, port)) return false;
    if (e.host.kind === "range") return rangeContains(e, ip);
    const resolved = named.get(e.host.name) ?? [];
    return resolved.some((r) => {
      const other = parseIpAddress(r);
      return other !== undefined && other.family === ip.family && other.value === ip.value;
    });
  });
}

/**
 * The relay's verdict on a target: an IP literal inside a range (and port) is allowed; a
 * host name, or an IP only a named entry could cover, is for the agent to judge after it
 * resolved the names; anything no entry's ports admit is denied.
 */
export function judgeTarget(entries: readonly TargetEntry[], target: HostPort): TargetVerdict {
  if (target.host.includes("%")) return "denied";
  const forPort = entries.filter((e) => entryAllowsPort(e, target.port));
  const ip = parseIpAddress(target.host);
  if (ip) {
    if (forPort.some((e) => rangeContains(e, ip))) return "allowed";
    return forPort.some((e) => e.host.kind === "name") ? "ask-agent" : "denied";
  }
  return forPort.length > 0 ? "ask-agent" : "denied";
}

/** The entries that matter for a stream to `port` (sent to the agent with the stream). */
export function entriesForPort(entries: readonly TargetEntry[], port: number): TargetEntry[] {
  return entries.filter((e) => entryAllowsPort(e, port));
}

/** A target with its host in canonical form (`127.1` → `127.0.0.1`), for messages and audit. */
export function canonicalTarget(target: HostPort): HostPort {
  const ip = parseIpAddress(target.host);
  return ip ? { host: formatIpAddress(ip), port: target.port } : { host: normaliseName(target.host), port: target.port };
}

/** `entries` as text for a message: "192.168.1.10:502, plc.local". */
export function describeTargets(entries: readonly TargetEntry[]): string {
  return entries.length === 0 ? "no targets" : entries.map(formatTargetEntry).join(", ");
}

/** Shows a target as `host:port` with IPv6 in brackets. */
export function showTarget(target: HostPort): string {
  return formatHostPort(canonicalTarget(target));
}
