// Apart from sessions.ts so that the sweep of live streams (session-streams.ts) can read them
// without importing the login code, which reaches the sweep through api-tokens.ts.

/** Sessions end this long after login, however busy. */
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;

/** Sessions end after this long without a request. */
export const SESSION_IDLE_MS = 2 * 60 * 60 * 1000;

/** How stale `last_used_at` may get before a request refreshes it. */
export const TOUCH_INTERVAL_MS = 60_000;
