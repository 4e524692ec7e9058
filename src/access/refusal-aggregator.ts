import { sourceKey } from "../protocol/source-key.js";
import type { AuditAction } from "./audit-actions.js";
/**
 * Refusals of requests that carry no authenticated actor — registrations with a bad activation
 * key, failed logins — are what anyone on the network can cause at will. Written one record
 * each, a flood of them grows the audit without limit. Per chain, action, source and reason,
 * the first few in each minute are still written one by one; the rest of that minute become
 * one record with a `count`, written when the minute is over (or the server stops).
 */

/** A refusal as the aggregator sees it; `at` is when it happened. */
export interface Refusal {
  accountId: string | null;
  actor: string | null;
  source: string | null;
  action: AuditAction;
  object: string | null;
  result: "denied" | "error";
  reason: string | null;
  at: Date;
}

/** One record standing for `count` refusals, from `firstAt` to `lastAt`. */
export interface AggregatedRefusal extends Refusal {
  count: number;
  firstAt: Date;
}

/** How refusals are aggregated; defaults in REFUSAL_AGGREGATION. */
export interface RefusalAggregationOptions {
  windowMs: number;
  /** Per action: how many refusals of one source and reason a window writes one by one. */
  individual: Readonly<Record<string, number>>;
  /** Distinct sources and reasons tracked per window; past it, refusals count under source "*". */
  maxKeys: number;
}

/**
 * Logins keep their first ten per source, reason and minute as records of their own — as many
 * as the source throttle lets through — so an account's admins still see each failed login,
 * with its user, unless it is a flood. A refused registration names nothing the admin needs
 * twice: one record, then a count. Refused streams keep their first ten too: a client that
 * never logged in, or a member's script, can otherwise write a record per CONNECT.
 */
export const REFUSAL_AGGREGATION: RefusalAggregationOptions = {
  windowMs: 60_000,
  individual: { login: 10, "device.register": 1, stream: 10 },
  maxKeys: 4096,
};

interface Tally {
  window: number;
  seen: number;
  held: AggregatedRefusal | undefined;
}

/** Counts refusals per window and hands over the records to write; IO and timers are passed in. */
export class RefusalAggregator {
  private readonly tallies = new Map<string, Tally>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly write: (record: AggregatedRefusal) => void,
    private readonly options: RefusalAggregationOptions = REFUSAL_AGGREGATION,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** True when `action` refusals are aggregated. */
  covers(action: string): boolean {
    return this.options.individual[action] !== undefined;
  }

  /**
   * Counts a refusal. True: it is to be written as a record of its own now. False: it was
   * counted into its window's aggregate, written when the window ends.
   */
  admit(refusal: Refusal): boolean {
    const individual = this.options.individual[refusal.action];
    if (individual === undefined) return true;
    const window = Math.floor(refusal.at.getTime() / this.options.windowMs);
    this.closeWindowsBefore(Math.floor(this.now().getTime() / this.options.windowMs));
    let key = keyOf(refusal, refusal.source === null ? null : sourceKey(refusal.source));
    let tally = this.tallies.get(key);
    if (tally !== undefined && tally.window !== window) {
      this.emit(tally);
      this.tallies.delete(key);
      tally = undefined;
    }
    let overflow = false;
    if (tally === undefined && this.tallies.size >= this.options.maxKeys) {
      key = keyOf(refusal, "*");
      tally = this.tallies.get(key);
      overflow = true;
    }
    if (tally === undefined) {
      tally = { window, seen: 0, held: undefined };
      this.tallies.set(key, tally);
      this.schedule();
    }
    tally.seen++;
    if (!overflow && tally.seen <= individual) return true;
    const held = tally.held;
    if (held === undefined) {
      tally.held = { ...refusal, ...(overflow ? { source: "*", actor: null, object: null } : {}), count: 1, firstAt: refusal.at };
    } else {
      held.count++;
      held.at = refusal.at;
      if (held.actor !== refusal.actor) held.actor = null;
      if (held.object !== refusal.object) held.object = null;
    }
    return false;
  }

  /** Writes every aggregate still being counted and forgets all windows (at shutdown). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const tally of this.tallies.values()) this.emit(tally);
    this.tallies.clear();
  }

  private closeWindowsBefore(current: number): void {
    for (const [key, tally] of this.tallies) {
      if (tally.window >= current) continue;
      this.emit(tally);
      this.tallies.delete(key);
    }
  }

  private emit(tally: Tally): void {
    if (tally.held !== undefined) this.write(tally.held);
    tally.held = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const { windowMs } = this.options;
    const wait = windowMs - (this.now().getTime() % windowMs) + 10;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.closeWindowsBefore(Math.floor(this.now().getTime() / windowMs));
      if (this.tallies.size > 0) this.schedule();
    }, wait);
    this.timer.unref();
  }
}

/** Times, durations and counts in a reason vary between otherwise equal refusals. */
function reasonShape(reason: string | null): string {
  return reason === null ? "" : reason.replace(/\d+/g, "#");
}

function keyOf(r: Refusal, source: string | null): string {
  return JSON.stringify([r.accountId, r.action, r.result, source, source === "*" ? "" : reasonShape(r.reason)]);
}
