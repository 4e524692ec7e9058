/** Reconnect delays: exponential from `baseMs` up to `maxMs`, with full jitter. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Defaults: first retry within half a second, never slower than every 30 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Delay before reconnect attempt `attempt` (0-based). Full jitter spreads a fleet of agents
 * that lost their relay at the same moment, so they do not all return at once.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(options.baseMs / 2 + random() * (ceiling - options.baseMs / 2));
}
