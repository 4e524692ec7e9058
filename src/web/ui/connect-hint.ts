import type { DeviceAccessInfo } from "../../protocol/api.js";
import { ipv4, networkHolds } from "./ipv4.js";

/**
 * The `fernlink connect` lines the device page offers for the user's allowed targets. An entry
 * naming one host and its ports becomes `--forward` options; a range or an entry without ports
 * cannot (any host, any port), so its web targets stand in for it and SOCKS covers the rest.
 */

/** A `host:port` the user may reach, e.g. a published web page's address. */
export interface KnownTarget {
  host: string;
  port: number;
}

/** What the device page shows under "Connect". */
export interface ConnectHint {
  /** One command with a `--forward` per concrete target; null when there is none. */
  forward: string | null;
  /** The SOCKS command when some entry is a range or has no ports; else null. */
  socks: string | null;
}

interface Entry {
  host: string;
  prefix: number | undefined;
  ports: number[] | undefined;
}

/** Parses a canonical entry (`10.0.0.5:502,80`, `10.0.0.0/24`, `[fd00::1]:502`, `plc.local`). */
function parseEntry(text: string): Entry {
  const v6 = /^\[([^\]]+)\](?:\/(\d+))?(?::([\d,]+))?$/.exec(text);
  if (v6) return { host: v6[1]!, prefix: v6[2] === undefined ? undefined : Number(v6[2]), ports: v6[3]?.split(",").map(Number) };
  if ((text.match(/:/g) ?? []).length >= 2) {
    const [host, prefix] = text.split("/");
    return { host: host!, prefix: prefix === undefined ? undefined : Number(prefix), ports: undefined };
  }
  const [hostPart, ports] = text.split(":");
  const [host, prefix] = (hostPart ?? "").split("/");
  return { host: host!, prefix: prefix === undefined ? undefined : Number(prefix), ports: ports?.split(",").map(Number) };
}

function entryAllows(entry: Entry, target: KnownTarget): boolean {
  if (entry.ports && !entry.ports.includes(target.port)) return false;
  if (entry.prefix === undefined) return entry.host === target.host.toLowerCase();
  const [net, address] = [ipv4(entry.host), ipv4(target.host)];
  return net !== undefined && address !== undefined && networkHolds(net, entry.prefix, address);
}

/** A free-looking local port: the target's own above 1023, else 10000 + it (no root needed). */
function localPort(port: number, used: Set<number>): number {
  let local = port > 1023 ? port : 10_000 + port;
  while (used.has(local)) local++;
  used.add(local);
  return local;
}

function hostForCommand(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** The connect lines for `device` given the user's access and the targets known to be on it. */
export function connectHint(device: string, access: DeviceAccessInfo, known: readonly KnownTarget[]): ConnectHint {
  if (access.level !== "connect") return { forward: null, socks: null };
  const entries = access.targets.map(parseEntry);
  const pairs = new Map<string, KnownTarget>();
  for (const e of entries) if (e.prefix === undefined && e.ports) for (const port of e.ports) pairs.set(`${e.host} ${port}`, { host: e.host, port });
  for (const t of known)
    if (entries.some((e) => entryAllows(e, t))) pairs.set(`${t.host.toLowerCase()} ${t.port}`, { host: t.host.toLowerCase(), port: t.port });
  const used = new Set<number>();
  const forwards = [...pairs.values()].map((t) => `--forward ${localPort(t.port, used)}:${hostForCommand(t.host)}:${t.port}`);
  const open = entries.some((e) => e.prefix !== undefined || e.ports === undefined);
  return {
    forward: forwards.length > 0 ? `fernlink connect ${device} ${forwards.join(" ")}` : null,
    socks: open ? `fernlink connect ${device} --socks 1080` : null,
  };
}

/** The host and port of a web target's URL (`http://10.0.0.5:8080/` → 10.0.0.5:8080); undefined when it has none. */
export function targetOfUrl(url: string): KnownTarget | undefined {
  try {
    // vnc: is no special scheme, so its port stays as written; http(s) drop their default one.
    const u = new URL(url);
    const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : u.protocol === "vnc:" ? 5900 : 80;
    return { host: u.hostname.replace(/^\[|\]$/g, ""), port };
  } catch {
    return undefined;
  }
}
