import { setTimeout as sleep } from "node:timers/promises";
import { FernlinkError } from "../protocol/errors.js";

/** A "throttled" answer that asks for a wait this short means "busy right now", not "stop". */
export const BUSY_RETRY = { attempts: 5, maxWaitSeconds: 5 } as const;

/**
 * Runs `call`, and again after the server's Retry-After while it answers "throttled" with a
 * short wait: the server checks only a few passwords at once per address, and several people
 * behind one plant NAT logging in together should not see that. A long wait (too many failed
 * logins) is passed on at once.
 */
export async function retryWhileBusy<T>(call: () => Promise<T>, wait: (ms: number) => Promise<unknown> = sleep): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const seconds = err instanceof FernlinkError && err.code === "throttled" ? err.retryAfterSeconds : undefined;
      if (seconds === undefined || seconds > BUSY_RETRY.maxWaitSeconds || attempt >= BUSY_RETRY.attempts) throw err;
      // Jitter, so those who were refused together do not all come back together.
      await wait(seconds * 1000 + Math.random() * 500);
    }
  }
}
