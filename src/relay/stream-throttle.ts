import { TokenBucket } from "../shared/token-bucket.js";

/** How fast one user may open streams to one device. */
export interface StreamRate {
  /** Streams per second, sustained. */
  perSecond: number;
  /** Streams at once after a quiet spell (a browser opening an HMI page, a SOCKS burst). */
  burst: number;
}

/** Default: far above what people and their tools open, far below what a loop can. */
export const DEFAULT_STREAM_RATE: StreamRate = { perSecond: 50, burst: 200 };

/** Refusals of one user and device are recorded once per this window, not one by one. */
export const THROTTLE_REPORT_WINDOW_MS = 60_000;

/** The answer for one stream request. */
export type ThrottleVerdict =
  | { allowed: true }
  /** `report`: the first refusal of this user and device in the window, the one to record. */
  | { allowed: false; report: boolean; retryAfterMs: number };

interface Entry {
  bucket: TokenBucket;
  reportedAt: number | undefined;
}

/** Above this many tracked pairs, pairs that are at rest are forgotten. */
const SWEEP_ABOVE = 1024;

/**
 * Rate-limits stream opens per user and device, so one user churning streams is refused
 * ("too many streams") while other users of the device, and that user's other devices, go on.
 */
export class StreamThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly rate: StreamRate = DEFAULT_STREAM_RATE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one stream from the user's allowance for the device. */
  check(userId: string, device: string): ThrottleVerdict {
    const key = `${userId}\u0000${device}`;
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= SWEEP_ABOVE) this.sweep();
      entry = { bucket: new TokenBucket(this.rate.perSecond, this.rate.burst, this.now), reportedAt: undefined };
      this.entries.set(key, entry);
    }
    if (entry.bucket.take()) return { allowed: true };
    const now = this.now();
    const report = entry.reportedAt === undefined || now - entry.reportedAt >= THROTTLE_REPORT_WINDOW_MS;
    if (report) entry.reportedAt = now;
    return { allowed: false, report, retryAfterMs: entry.bucket.waitMs() };
  }

  /** Pairs tracked right now (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      const quiet = entry.reportedAt === undefined || now - entry.reportedAt >= THROTTLE_REPORT_WINDOW_MS;
      if (quiet && entry.bucket.isFull()) this.entries.delete(key);
    }
  }
}
