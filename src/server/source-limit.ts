import { sourceKey } from "../protocol/source-key.js";

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
