import { isIP } from "node:net";

/**
 * The key connections are counted under: an IPv4 address as is (also when it arrives as
 * `::ffff:a.b.c.d`), an IPv6 address by its /64, the smallest block a single site is given.
 */
export function sourceKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const [head = "", tail] = address.split("%")[0]!.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}

/** Counts open connections per source and refuses those past `max`. */
export class SourceLimit {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /**
   * Takes a slot for a connection from `address`. Returns the function that gives it back
   * (calling it more than once is harmless), or undefined when the source is at its limit.
   */
  acquire(address: string): (() => void) | undefined {
    const key = sourceKey(address);
    const count = this.counts.get(key) ?? 0;
    if (count >= this.max) return undefined;
    this.counts.set(key, count + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) this.counts.set(key, left);
      else this.counts.delete(key);
    };
  }

  /** Connections now counted for `address`'s source. */
  count(address: string): number {
    return this.counts.get(sourceKey(address)) ?? 0;
  }
}
