import { UsageError } from "../protocol/errors.js";
import { MAX_ANNOUNCED_INTERVAL_MS } from "../protocol/keepalive-ping.js";
import { AGENT_KEEPALIVE } from "../protocol/tunnel-settings.js";

/** The agent's PING timing; the relay learns it from the PINGs themselves. */
export interface KeepaliveTimingOptions {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * Named keep-alive settings for `agent run --profile`. `cellular`: one PING every 5 minutes,
 * 30 s to answer (a radio waking from idle can take seconds). Counted on the wire, one PING
 * and its answer cost about 234 bytes (two 39-byte TLS records, their IP/TCP headers and one
 * delayed ACK), so 288 a day stay under 100 KB; the longest NAT idle timeouts of mobile
 * carriers are around 5 minutes too, which is why it is not longer.
 */
export const KEEPALIVE_PROFILES = {
  default: { intervalMs: AGENT_KEEPALIVE.intervalMs, timeoutMs: AGENT_KEEPALIVE.timeoutMs },
  cellular: { intervalMs: 300_000, timeoutMs: 30_000 },
} as const satisfies Record<string, KeepaliveTimingOptions>;

/** The names `--profile` takes. */
export type KeepaliveProfile = keyof typeof KEEPALIVE_PROFILES;

/** The answer time that goes with an interval: the default 10 s, up to 30 s for slow intervals. */
export function timeoutFor(intervalMs: number): number {
  return Math.min(30_000, Math.max(AGENT_KEEPALIVE.timeoutMs, Math.round(intervalMs / 10)));
}

/** Reads `--profile` and `--keepalive SECONDS` (which overrides the profile's interval). */
export function keepaliveTiming(flags: { profile?: string | undefined; keepalive?: string | undefined }): KeepaliveTimingOptions {
  const name = flags.profile ?? "default";
  if (!Object.hasOwn(KEEPALIVE_PROFILES, name))
    throw new UsageError(`--profile "${name}" is not known; use one of: ${Object.keys(KEEPALIVE_PROFILES).join(", ")}`);
  const profile = KEEPALIVE_PROFILES[name as KeepaliveProfile];
  if (flags.keepalive === undefined) return { ...profile };
  const maxSeconds = MAX_ANNOUNCED_INTERVAL_MS / 1000;
  const seconds = Number(flags.keepalive);
  if (!/^\d+$/.test(flags.keepalive) || seconds < 1 || seconds > maxSeconds)
    throw new UsageError(`--keepalive "${flags.keepalive}" must be whole seconds from 1 to ${maxSeconds} (e.g. --keepalive 300)`);
  return { intervalMs: seconds * 1000, timeoutMs: timeoutFor(seconds * 1000) };
}
