import { UsageError } from "../protocol/errors.js";
import { formatHostPort, type HostPort } from "../protocol/target.js";

/** One local listener a `connect` asks for, named as the user wrote it. */
export interface LocalPort {
  listen: HostPort;
  /** The flag that asked for it, e.g. `--forward 5020:192.168.1.10:502`. */
  flag: string;
}

const ANY_ADDRESS = new Set(["0.0.0.0", "::", "[::]"]);

function overlap(a: HostPort, b: HostPort): boolean {
  if (a.port === 0 || b.port === 0 || a.port !== b.port) return false;
  return a.host === b.host || ANY_ADDRESS.has(a.host) || ANY_ADDRESS.has(b.host);
}

/** Refuses two listeners on one local port before any is opened (port 0 picks a free one each time). */
export function checkDistinctPorts(ports: readonly LocalPort[]): void {
  ports.forEach((a, i) => {
    const b = ports.slice(0, i).find((earlier) => overlap(earlier.listen, a.listen));
    if (b) throw new UsageError(`${b.flag} and ${a.flag} both listen on ${formatHostPort(a.listen)}; give each its own local port`);
  });
}
