/**
 * When a failed notification is tried again: exponential backoff from `baseMs`, doubling per
 * attempt up to `maxMs`, with up to a fifth of jitter so a receiver that was down is not hit by
 * every queued row in the same second; after `attempts` tries it has failed for good.
 */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  attempts: number;
}

/** 5 s, 10 s, 20 s … capped at 15 min; 10 tries span about 40 minutes. */
export const DEFAULT_RETRY: RetryPolicy = { baseMs: 5_000, maxMs: 15 * 60_000, attempts: 10 };

/** The wait before try `attempt + 1` after try `attempt` (1-based) failed; undefined once the tries are spent. */
export function retryDelayMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random): number | undefined {
  if (attempt >= policy.attempts) return undefined;
  const plain = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(plain * (1 - 0.2 * random()));
}
