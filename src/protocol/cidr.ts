import { isIP } from "node:net";

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
