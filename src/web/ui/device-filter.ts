import type { DeviceInfo } from "../../protocol/api.js";
import { ipv4, networkHolds } from "./ipv4.js";

/** What the Devices page shows: a search text, the status, pool and LAN filters, and the order. */
export interface DeviceQuery {
  text: string;
  status: "all" | "online" | "offline";
  /** A pool name, or "" for every pool. */
  pool: string;
  /** An IPv4 address (devices whose LAN ranges hold it) or text found in a range; "" for any. */
  lan: string;
  sort: DeviceSort;
}

/** The orders the Devices page offers, with their labels. */
export const DEVICE_SORTS = {
  name: "Name (A to Z)",
  "name-desc": "Name (Z to A)",
  online: "Online first",
  "last-seen": "Last seen, newest first",
  relay: "Relay",
} as const;

/** One of {@link DEVICE_SORTS}. */
export type DeviceSort = keyof typeof DEVICE_SORTS;

/** Everything shown, by name. */
export const ALL_DEVICES: DeviceQuery = { text: "", status: "all", pool: "", lan: "", sort: "name" };

/** True when the IPv4 range `cidr` holds `address` (a number). */
function rangeHolds(cidr: string, address: number): boolean {
  const [net, bits] = cidr.split("/");
  const base = ipv4(net ?? "");
  return base !== undefined && networkHolds(base, bits === undefined ? 32 : Number(bits), address);
}

function matchesLan(device: DeviceInfo, lan: string): boolean {
  const address = ipv4(lan);
  if (address !== undefined) return device.lan.some((r) => rangeHolds(r, address));
  return device.lan.some((r) => r.includes(lan));
}

function matchesText(device: DeviceInfo, text: string): boolean {
  return [device.name, device.address ?? "", device.relay ?? "", ...device.lan, ...device.pools].some((s) => s.toLowerCase().includes(text));
}

const byName = (a: DeviceInfo, b: DeviceInfo): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const COMPARE: Record<DeviceSort, (a: DeviceInfo, b: DeviceInfo) => number> = {
  name: byName,
  "name-desc": (a, b) => byName(b, a),
  online: (a, b) => Number(b.online) - Number(a.online) || byName(a, b),
  // ISO times compare as text; never-seen devices last.
  "last-seen": (a, b) => (b.lastSeen ?? "").localeCompare(a.lastSeen ?? "") || byName(a, b),
  relay: (a, b) => (a.relay ?? "\uffff").localeCompare(b.relay ?? "\uffff") || byName(a, b),
};

/** The devices that match `query`, in its order. */
export function filterDevices(devices: readonly DeviceInfo[], query: DeviceQuery): DeviceInfo[] {
  const text = query.text.trim().toLowerCase();
  const lan = query.lan.trim();
  const out = devices.filter(
    (d) =>
      (query.status === "all" || d.online === (query.status === "online")) &&
      (query.pool === "" || d.pools.includes(query.pool)) &&
      (lan === "" || matchesLan(d, lan)) &&
      (text === "" || matchesText(d, text)),
  );
  return out.sort(COMPARE[query.sort]);
}

/** The pool names of `devices`, in order, without repeats. */
export function poolsOf(devices: readonly DeviceInfo[]): string[] {
  return [...new Set(devices.flatMap((d) => d.pools))].sort();
}
