/** IPv4 arithmetic for the portal's filters and hints (the protocol module needs node:net, not in the bundle). */

/** The dotted-quad `text` as a number; undefined when it is not one. */
export function ipv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  return parts.some((p) => p > 255) ? undefined : parts.reduce((n, p) => n * 256 + p, 0);
}

/** True when the IPv4 network `base`/`prefix` holds `address`. */
export function networkHolds(base: number, prefix: number, address: number): boolean {
  if (!(prefix >= 0 && prefix <= 32)) return false;
  const size = 2 ** (32 - prefix);
  return Math.floor(base / size) === Math.floor(address / size);
}
