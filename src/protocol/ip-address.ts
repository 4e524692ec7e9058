import { isIP } from "node:net";

/**
 * IP addresses as numbers, so that every spelling of one address compares equal:
 * `127.1`, `0x7f.0.0.1`, `2130706433` and `127.0.0.1` are one IPv4 address (the forms the
 * resolver's inet_aton accepts), and `::ffff:7f00:1`, `::FFFF:127.0.0.1` are that same
 * IPv4 address mapped into IPv6. IPv6 text is compared case-insensitively and expanded.
 */

/** One IP address, with IPv4-mapped IPv6 folded to IPv4. */
export interface IpAddress {
  family: 4 | 6;
  /** 32 or 128 bits. */
  value: bigint;
}

const V4_PART = /^(?:0x[0-9a-f]*|[0-9]+)$/i;

function v4Part(text: string): bigint | undefined {
  if (!V4_PART.test(text)) return undefined;
  if (/^0x/i.test(text)) return text.length === 2 ? 0n : BigInt(text);
  if (text.length > 1 && text.startsWith("0")) return /^[0-7]+$/.test(text) ? BigInt(`0o${text.slice(1)}`) : undefined;
  return BigInt(text);
}

/** Parses IPv4 in every inet_aton form: `a.b.c.d`, `a.b.c`, `a.b`, `a`, each part decimal, octal (0…) or hex (0x…). */
function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length > 4) return undefined;
  const values = parts.map(v4Part);
  if (values.some((v) => v === undefined)) return undefined;
  const nums = values as bigint[];
  const last = nums[nums.length - 1]!;
  let value = 0n;
  for (const [i, n] of nums.slice(0, -1).entries()) {
    if (n > 255n) return undefined;
    value |= n << BigInt(8 * (3 - i));
  }
  const lastBits = BigInt(8 * (5 - nums.length));
  if (last >= 1n << lastBits) return undefined;
  return value | last;
}

function parseV6(text: string): bigint | undefined {
  if (text.includes("%") || isIP(text) !== 6) return undefined;
  let body = text.toLowerCase();
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(body);
  if (tail) {
    const v4 = parseV4(tail[1]!)!;
    body = `${body.slice(0, -tail[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = "", rest] = body.split("::");
  const left = head ? head.split(":") : [];
  const right = rest ? rest.split(":") : [];
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n);
}

/** Reads an IP address in any spelling; undefined for host names and zone-scoped (`%eth0`) addresses. */
export function parseIpAddress(text: string): IpAddress | undefined {
  const host = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (host.includes(":")) {
    const value = parseV6(host);
    if (value === undefined) return undefined;
    if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
    return { family: 6, value };
  }
  const value = parseV4(host);
  return value === undefined ? undefined : { family: 4, value };
}

/** The canonical text of an address: dotted quad, or compressed lower-case IPv6. */
export function formatIpAddress(ip: IpAddress): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

/** Bits in an address of this family. */
export function addressBits(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

/** The network part of `value` for a prefix length (host bits cleared). */
export function networkOf(ip: IpAddress, prefix: number): bigint {
  const bits = BigInt(addressBits(ip.family) - prefix);
  return (ip.value >> bits) << bits;
}
