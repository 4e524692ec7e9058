import { type Cidr, CidrSyntaxError, formatCidr, networkCidr, parseCidr } from "../protocol/cidr.js";
import { UsageError } from "../protocol/errors.js";

/** `device add --lan` ranges as the server will store them, and what the user should know about them. */
export interface LanRanges {
  lan: string[];
  warnings: string[];
}

const REPEAT_HINT = "repeat --lan for several ranges, e.g. --lan 192.168.1.0/24 --lan 10.10.0.0/16";

/**
 * Checks `--lan` values before anything is sent: a malformed range is a usage error; a range
 * with host bits set, or no range at all, is accepted with a warning, since either is far
 * more often a slip than an intent.
 */
export function checkLanRanges(device: string, values: readonly string[]): LanRanges {
  const warnings: string[] = [];
  const lan = values.map((value) => {
    let parsed: Cidr;
    try {
      parsed = parseCidr(value);
    } catch (err) {
      if (err instanceof CidrSyntaxError) throw new UsageError(`--lan ${err.message}; ${REPEAT_HINT}`);
      throw err;
    }
    const network = formatCidr(networkCidr(parsed));
    if (network !== formatCidr(parsed)) {
      const host = formatCidr({ ...parsed, prefix: parsed.family === 4 ? 32 : 128 });
      warnings.push(`--lan ${value} has host bits set; it is taken as ${network} (for that one host give ${host})`);
    }
    return network;
  });
  if (lan.length === 0) {
    warnings.push(
      `device "${device}" has no --lan range, so its agent dials no target unless it runs with --allow CIDR; ` +
        `to fix it, remove the device and add it again with its ranges (${REPEAT_HINT})`,
    );
  }
  return { lan, warnings };
}
