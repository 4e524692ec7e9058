import type { Http2Server } from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage, FernlinkError } from "../protocol/errors.js";
import type { Logger } from "../shared/log.js";
import type { CheckIn } from "./check-in.js";
import { IdleTracker } from "./idle-tracker.js";
import type { OnDemandTiming } from "./on-demand-options.js";

/** How often an open on-demand tunnel looks at its idle time (a local check, no bytes). */
const IDLE_POLL_MS = 1_000;

/** What the on-demand loop needs; the tunnel, the check-in, the clock and the waiting are injected. */
export interface OnDemandDeps {
  timing: OnDemandTiming;
  checkIn: CheckIn;
  /** Keeps the tunnel up (as `agent run` without --on-demand does) until `signal` aborts. */
  runTunnel: (signal: AbortSignal, onStreamServer: (server: Http2Server) => void) => Promise<void>;
  log: Logger;
  signal: AbortSignal;
  now?: () => number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const realWait = (ms: number, signal: AbortSignal): Promise<void> => sleep(ms, undefined, { signal }).catch(() => undefined);

/**
 * On-demand mode: no tunnel is held. The agent checks in every `checkInMs` (one small HTTPS
 * request); when the service says someone wants the device, it brings the tunnel up, and
 * closes it again once no stream has been open for `idleMs` and a check-in says nobody wants
 * it any more. Ends when `signal` aborts, or when the service no longer knows the certificate.
 */
export async function runOnDemand(deps: OnDemandDeps): Promise<void> {
  const { timing, log, signal } = deps;
  const wait = deps.wait ?? realWait;
  const every = Math.round(timing.checkInMs / 1000);
  while (!signal.aborted) {
    const wanted = await ask(deps, every);
    if (signal.aborted) break;
    if (wanted) {
      log.info("someone wants this device: bringing the tunnel up");
      await tunnelWhileWanted(deps, every, wait);
      if (signal.aborted) break;
      log.info("tunnel closed: idle and no longer wanted; checking in again", { everySeconds: every });
    }
    await wait(timing.checkInMs, signal);
  }
}

/** One check-in; a failure is logged and read as "not wanted" (the next one may get through). */
async function ask(deps: OnDemandDeps, every: number): Promise<boolean> {
  try {
    return (await deps.checkIn(every)).wanted;
  } catch (err) {
    if (err instanceof FernlinkError && err.code === "certificate-revoked") throw err;
    deps.log.warn("check-in failed", { reason: errorMessage(err) });
    return false;
  }
}

async function tunnelWhileWanted(deps: OnDemandDeps, every: number, wait: (ms: number, signal: AbortSignal) => Promise<void>): Promise<void> {
  const now = deps.now ?? Date.now;
  const idle = new IdleTracker(now);
  const done = new AbortController();
  const stop = (): void => done.abort();
  deps.signal.addEventListener("abort", stop, { once: true });
  const track = (server: Http2Server): void => {
    server.on("stream", (stream) => {
      idle.opened();
      stream.once("close", () => idle.closed());
    });
  };
  const tunnel = deps.runTunnel(done.signal, track).finally(stop);
  // Awaited below; handled here too, so a failure while the loop waits is not an unhandled rejection.
  tunnel.catch(() => undefined);
  try {
    while (!done.signal.aborted) {
      await wait(IDLE_POLL_MS, done.signal);
      if (done.signal.aborted || idle.idleMs() < deps.timing.idleMs) continue;
      // A service that cannot be asked keeps the tunnel up: a user may be on the way.
      let wanted = true;
      try {
        wanted = (await deps.checkIn(every)).wanted;
      } catch (err) {
        if (err instanceof FernlinkError && err.code === "certificate-revoked") throw err;
        deps.log.warn("check-in failed", { reason: errorMessage(err) });
      }
      if (wanted) idle.touch();
      else done.abort();
    }
  } finally {
    done.abort();
    deps.signal.removeEventListener("abort", stop);
    await tunnel;
  }
}
