/** Gives back a slot taken from a {@link ConcurrencyLimit}; calling it again does nothing. */
export type Release = () => void;

/** How many may run at once: per key (e.g. per source address) and in all. */
export interface ConcurrencyLimits {
  perKey: number;
  total: number;
}

/** A refusal: which limit was full, and whether it is the first since that limit last had room. */
export interface Refusal {
  full: "key" | "total";
  /** True for the first refusal of a busy spell, so a caller can report a flood once, not per request. */
  first: boolean;
}

/** What {@link ConcurrencyLimit.tryAcquire} answers: a slot to release, or a refusal. */
export type Acquired = { release: Release; refusal?: undefined } | { release?: undefined; refusal: Refusal };

/**
 * Bounds work in progress per key and overall, and refuses at once when either is full
 * instead of queueing: a queue would only move the wait (and its memory) to everyone else.
 */
export class ConcurrencyLimit {
  private readonly byKey = new Map<string, { held: number; refused: number }>();
  private running = 0;
  private refusedWhileFull = 0;

  constructor(private readonly limits: ConcurrencyLimits) {
    if (!(limits.perKey >= 1 && limits.total >= limits.perKey)) {
      throw new RangeError(`concurrency limits need 1 <= perKey <= total (got perKey ${limits.perKey}, total ${limits.total})`);
    }
  }

  /** Takes a slot for `key`, or refuses when the key or the whole limit is full. */
  tryAcquire(key: string): Acquired {
    const entry = this.byKey.get(key);
    if (entry !== undefined && entry.held >= this.limits.perKey) return { refusal: { full: "key", first: ++entry.refused === 1 } };
    if (this.running >= this.limits.total) return { refusal: { full: "total", first: ++this.refusedWhileFull === 1 } };
    if (entry === undefined) this.byKey.set(key, { held: 1, refused: 0 });
    else entry.held++;
    this.running++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        this.refusedWhileFull = 0;
        const own = this.byKey.get(key)!;
        own.refused = 0;
        // Keys without slots are forgotten, so many sources leave no trace behind.
        if (--own.held === 0) this.byKey.delete(key);
      },
    };
  }

  /** Slots in use for `key`, or in all when no key is given. */
  inUse(key?: string): number {
    return key === undefined ? this.running : (this.byKey.get(key)?.held ?? 0);
  }

  /** Keys holding at least one slot. */
  get keys(): number {
    return this.byKey.size;
  }
}
