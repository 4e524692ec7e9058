import { isIP } from "node:net";
import { formatIpAddress, networkOf, parseIpAddress } from "./ip-address.js";

/** An address range in CIDR form. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** Why a CIDR text could not be parsed. */
export class CidrSyntaxError extends Error {
  override readonly name = "CidrSyntaxError";
  readonly code = "invalid-cidr";
}

/** Parses `a.b.c.d/n` or `v6/n`; a bare address means a single host. */
export function parseCidr(text: string): Cidr {
  const [address = "", prefixText, extra] = text.split("/");
  const family = isIP(address);
  if (extra !== undefined || family === 0) throw new CidrSyntaxError(`"${text}" is not an address range like 192.168.1.0/24`);
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new CidrSyntaxError(`"${text}" has a bad prefix length (0-${max})`);
  }
  return { address, prefix, family: family as 4 | 6 };
}

/** Formats a range back to `address/prefix`. */
export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

/** The range with its host bits cleared: `192.168.1.10/24` is `192.168.1.0/24`. */
export function networkCidr(cidr: Cidr): Cidr {
  const ip = parseIpAddress(cidr.address);
  // A v4-mapped v6 address folds to v4 in parseIpAddress; keep such ranges as written.
  if (ip === undefined || ip.family !== cidr.family) return cidr;
  return { ...cidr, address: formatIpAddress({ family: ip.family, value: networkOf(ip, cidr.prefix) }) };
}
