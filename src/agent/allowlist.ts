import { BlockList, isIP } from "node:net";
import { type Cidr, formatCidr, parseCidr } from "../protocol/cidr.js";
import { parsePort } from "../protocol/target.js";

/** One allowlist entry: an address range and optionally the only ports allowed in it. */
export interface AllowRule {
  cidr: Cidr;
  ports: number[] | undefined;
}

/** Why an `--allow` value could not be parsed. */
export class AllowSyntaxError extends Error {
  override readonly name = "AllowSyntaxError";
  readonly code = "invalid-allow";
}

function parsePorts(text: string, whole: string): number[] {
  try {
    return text.split(",").map((p) => parsePort(p));
  } catch {
    throw new AllowSyntaxError(`--allow "${whole}": ports must be numbers 1-65535 separated by commas`);
  }
}

/** Parses `CIDR[:PORT[,PORT…]]`; IPv6 needs a prefix or brackets before ports (`[fd00::1]:502`). */
export function parseAllowRule(text: string): AllowRule {
  let range = text;
  let ports: number[] | undefined;
  const bracket = /^\[([^\]]+)\](?:\/(\d+))?(?::([\d,]+))?$/.exec(text);
  if (bracket) {
    range = bracket[2] ? `${bracket[1]}/${bracket[2]}` : bracket[1]!;
    ports = bracket[3] ? parsePorts(bracket[3], text) : undefined;
  } else if (text.includes("/")) {
    // Exactly one "/" and the whole rest after the first ":" as ports: a typo must fail, not widen the rule.
    const match = /^([^/]+)\/([^/:]*)(?::(.*))?$/.exec(text);
    if (!match) throw new AllowSyntaxError(`--allow "${text}" is not CIDR[:PORT[,PORT…]], e.g. 192.168.1.0/24:502,80`);
    range = `${match[1]}/${match[2]}`;
    ports = match[3] !== undefined ? parsePorts(match[3], text) : undefined;
  } else if (isIP(text) !== 6 && text.includes(":")) {
    const idx = text.indexOf(":");
    range = text.slice(0, idx);
    ports = parsePorts(text.slice(idx + 1), text);
  }
  try {
    return { cidr: parseCidr(range), ports };
  } catch (err) {
    throw new AllowSyntaxError(`--allow "${text}": ${(err as Error).message}`, { cause: err });
  }
}

/** Formats a rule as it is written on the command line. */
export function formatAllowRule(rule: AllowRule): string {
  const range = formatCidr(rule.cidr);
  if (!rule.ports) return range;
  return `${rule.cidr.family === 6 && !range.includes("/") ? `[${range}]` : range}:${rule.ports.join(",")}`;
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same host; compare them as IPv4. */
export function normaliseAddress(address: string): { address: string; family: 4 | 6 } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 4 };
  const family = isIP(address);
  return family === 0 ? undefined : { address, family: family as 4 | 6 };
}

/** The agent's own allowlist: the last word on which LAN addresses and ports it dials. */
export class Allowlist {
  private readonly entries: { list: BlockList; ports: Set<number> | undefined }[];

  constructor(readonly rules: readonly AllowRule[]) {
    this.entries = rules.map((rule) => {
      const list = new BlockList();
      list.addSubnet(rule.cidr.address, rule.cidr.prefix, rule.cidr.family === 4 ? "ipv4" : "ipv6");
      return { list, ports: rule.ports ? new Set(rule.ports) : undefined };
    });
  }

  /** True when a resolved IP address and port fall under some rule. */
  allows(address: string, port: number): boolean {
    const norm = normaliseAddress(address);
    if (!norm) return false;
    const type = norm.family === 4 ? "ipv4" : "ipv6";
    return this.entries.some((e) => e.list.check(norm.address, type) && (!e.ports || e.ports.has(port)));
  }

  /** The rules as text, for messages. */
  describe(): string {
    return this.rules.length === 0 ? "nothing" : this.rules.map(formatAllowRule).join(", ");
  }
}
