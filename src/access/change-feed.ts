import { FernlinkError } from "../protocol/errors.js";

/** What changed in an account: a device's tunnel went up or down, or a stream opened, closed or was cut. */
export type ChangeEvent =
  | { kind: "devices"; accountId: string; deviceId: string; device: string; online: boolean }
  | { kind: "streams"; accountId: string; streamId: string; userId: string; change: "opened" | "closed" | "cut" };

/** One subscriber: told each change of its account, and once when the feed closes (server shutdown). */
export interface ChangeListener {
  onChange(event: ChangeEvent): void;
  onClose?(): void;
}

/** An in-process publish/subscribe of change events, one channel per account. */
export interface ChangeFeed {
  /** Tells every listener of the event's account; a listener that throws does not stop the others. */
  publish(event: ChangeEvent): void;
  /**
   * Adds a listener of one account and returns its unsubscribe function (safe to call twice).
   * Throws "throttled" when the feed or the account has as many listeners as allowed.
   */
  subscribe(accountId: string, listener: ChangeListener): () => void;
  /** Listeners now: of one account, or of all. */
  size(accountId?: string): number;
  /** Tells every listener the feed is closing, drops them all, and ends later subscriptions at once. */
  close(): void;
}

/** How many listeners the feed holds at most; each is an open browser tab's event stream. */
export const CHANGE_FEED_LIMITS = { maxListeners: 1000, maxPerAccount: 100 } as const;

/** Options of `createChangeFeed`. */
export interface ChangeFeedOptions {
  maxListeners?: number;
  maxPerAccount?: number;
  /** Told when a listener throws; the default drops the error. */
  onListenerError?: (err: unknown) => void;
}

/** Creates an empty change feed. */
export function createChangeFeed(options: ChangeFeedOptions = {}): ChangeFeed {
  const maxListeners = options.maxListeners ?? CHANGE_FEED_LIMITS.maxListeners;
  const maxPerAccount = options.maxPerAccount ?? CHANGE_FEED_LIMITS.maxPerAccount;
  const onError = options.onListenerError ?? (() => {});
  const byAccount = new Map<string, Set<ChangeListener>>();
  let total = 0;
  let closed = false;

  const safely = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      onError(err);
    }
  };

  return {
    publish(event) {
      const listeners = byAccount.get(event.accountId);
      if (!listeners) return;
      // A copy: a listener may unsubscribe (itself or another) while we are telling them.
      for (const listener of [...listeners]) safely(() => listener.onChange(event));
    },
    subscribe(accountId, listener) {
      if (closed) {
        safely(() => listener.onClose?.());
        return () => {};
      }
      const listeners = byAccount.get(accountId) ?? new Set<ChangeListener>();
      if (total >= maxListeners || listeners.size >= maxPerAccount) {
        const limit = total >= maxListeners ? `${maxListeners} on this server` : `${maxPerAccount} per account`;
        throw new FernlinkError("throttled", `too many open live event streams (limit ${limit}); close other portal tabs and try again`);
      }
      // A fresh object per subscription, so the same listener subscribed twice is two entries.
      const entry: ChangeListener = { onChange: (e) => listener.onChange(e), onClose: () => listener.onClose?.() };
      listeners.add(entry);
      byAccount.set(accountId, listeners);
      total++;
      return () => {
        if (!listeners.delete(entry)) return;
        total--;
        if (listeners.size === 0 && byAccount.get(accountId) === listeners) byAccount.delete(accountId);
      };
    },
    size(accountId) {
      return accountId === undefined ? total : (byAccount.get(accountId)?.size ?? 0);
    },
    close() {
      if (closed) return;
      closed = true;
      const all: ChangeListener[] = [];
      for (const set of byAccount.values()) {
        all.push(...set);
        set.clear();
      }
      byAccount.clear();
      total = 0;
      for (const listener of all) safely(() => listener.onClose?.());
    },
  };
}
