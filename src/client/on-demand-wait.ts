import { routePath } from "../protocol/api.js";
import { ON_DEMAND_ROUTES, WakeResponse } from "../protocol/api-on-demand.js";
import { FernlinkError } from "../protocol/errors.js";
import type { ApiClient } from "./api-client.js";

/** How often a waiting `connect` asks again (which also keeps the device wanted). */
export const WAKE_POLL_MS = 1_000;
/** How often a running `connect` tells the service it still wants an on-demand device's tunnel. */
export const KEEP_WANTED_MS = 60_000;
/** A non-terminal gets a countdown line this often (a terminal gets one line, rewritten every second). */
const LINE_EVERY_MS = 15_000;

/** `m:ss` of a non-negative duration. */
function minutesSeconds(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

/** The countdown line: time left until the device's next check-in is due, or how late it is. */
export function countdownText(device: string, nextCheckIn: string, now: number): string {
  const left = Date.parse(nextCheckIn) - now;
  return left >= 0
    ? `waiting for ${device} to check in: ${minutesSeconds(left)} (Ctrl-C to stop)`
    : `waiting for ${device} to check in: overdue by ${minutesSeconds(-left)} (Ctrl-C to stop)`;
}

/**
 * True when an on-demand device is so late that it is likely off or out of coverage: two
 * intervals past its due check-in, and a minute.
 */
export function givenUp(wake: WakeResponse, now: number): boolean {
  if (!wake.nextCheckIn || wake.checkInSeconds === null) return false;
  return now - Date.parse(wake.nextCheckIn) > 2 * wake.checkInSeconds * 1000 + 60_000;
}

/** Asks for the device's tunnel (an on-demand agent connects at its next check-in). */
export function wake(api: ApiClient, device: string): Promise<WakeResponse> {
  return api.call("POST", routePath(ON_DEMAND_ROUTES.deviceWake, { name: device }), WakeResponse);
}

/** Where the countdown goes. */
export interface CountdownOutput {
  write: (text: string) => void;
  /** A terminal: one line rewritten in place. */
  isTTY: boolean;
}

/**
 * Waits for an on-demand device whose `first` answer said it is offline: asks again every
 * second (keeping it wanted) and shows the time until its check-in is due. Resolves once it is
 * online; rejects when `signal` aborts (Ctrl-C), or, without `keepWaiting`, once the device is
 * long overdue.
 */
export async function waitForCheckIn(
  api: ApiClient,
  first: WakeResponse,
  options: { signal: AbortSignal; out: CountdownOutput; keepWaiting: boolean; now?: () => number },
): Promise<void> {
  const now = options.now ?? Date.now;
  const { out, signal } = options;
  let state = first;
  let lastLine = Number.NEGATIVE_INFINITY;
  const show = (): void => {
    if (!state.nextCheckIn) return;
    const text = countdownText(state.device, state.nextCheckIn, now());
    if (out.isTTY) out.write(`\r\x1b[K${text}`);
    else if (now() - lastLine >= LINE_EVERY_MS) {
      out.write(`${text}\n`);
      lastLine = now();
    }
  };
  try {
    while (!state.online) {
      if (!options.keepWaiting && givenUp(state, now()))
        throw new FernlinkError(
          "device-offline",
          `device "${state.device}" did not check in (due ${state.nextCheckIn}); it may be switched off or out of coverage; pass --wait to keep waiting`,
        );
      show();
      await pause(WAKE_POLL_MS, signal);
      state = await wake(api, state.device);
    }
  } finally {
    if (out.isTTY) out.write("\r\x1b[K");
  }
  out.write(`${state.device} checked in; connecting\n`);
}

/** Keeps an on-demand device wanted while `connect` runs; stops by itself for a device that is not on demand. */
export function keepWanted(api: ApiClient, device: string, onError: (err: unknown) => void): () => void {
  const timer = setInterval(() => {
    wake(api, device).then((w) => {
      if (!w.onDemand) clearInterval(timer);
    }, onError);
  }, KEEP_WANTED_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    function abort(): void {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener("abort", abort, { once: true });
  });
}
