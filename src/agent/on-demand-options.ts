import { MAX_CHECK_IN_SECONDS } from "../protocol/api-on-demand.js";
import { UsageError } from "../protocol/errors.js";

/** How an on-demand agent behaves. */
export interface OnDemandTiming {
  /** Between two check-ins while no tunnel is up. */
  checkInMs: number;
  /** A tunnel without streams for this long is closed, unless the service says someone still wants it. */
  idleMs: number;
}

/** `--check-in` default: 5 minutes. */
export const DEFAULT_CHECK_IN_MS = 5 * 60_000;
/** `--idle` default: 10 minutes. */
export const DEFAULT_IDLE_MS = 10 * 60_000;

/**
 * Reads a duration flag: whole minutes (`5`), or with a unit, seconds or minutes (`30s`, `2m`).
 * Seconds are for short tests and for links that can afford them.
 */
export function parseDuration(flag: string, value: string, maxSeconds: number): number {
  const m = /^(\d+)(s|m)?$/.exec(value);
  const seconds = m ? Number(m[1]) * (m[2] === "s" ? 1 : 60) : Number.NaN;
  if (!(seconds >= 1 && seconds <= maxSeconds))
    throw new UsageError(`${flag} "${value}" must be whole minutes (5), or seconds or minutes with a unit (30s, 2m), from 1s to ${maxSeconds / 60} minutes`);
  return seconds * 1000;
}

/** Reads `--check-in` and `--idle`. */
export function onDemandTiming(flags: { checkIn?: string | undefined; idle?: string | undefined }): OnDemandTiming {
  return {
    checkInMs: flags.checkIn === undefined ? DEFAULT_CHECK_IN_MS : parseDuration("--check-in", flags.checkIn, MAX_CHECK_IN_SECONDS),
    idleMs: flags.idle === undefined ? DEFAULT_IDLE_MS : parseDuration("--idle", flags.idle, MAX_CHECK_IN_SECONDS),
  };
}
