/**
 * The 8 opaque bytes of the agent's keep-alive PING carry its timing, so the relay, which only
 * listens, knows how long silence may last before the agent counts as dead. A slow-pinging
 * (cellular) agent is then not cut after the default silence, and learning it costs no byte:
 * HTTP/2 PINGs carry 8 bytes whatever they say. Layout: "FK" (0x46 0x4b), interval in tenths
 * of a second (24 bits, big-endian), answer timeout in tenths of a second (24 bits).
 * Any other payload (an older agent, a client) means the defaults.
 */

/** The timing a PING announces. */
export interface KeepaliveTiming {
  intervalMs: number;
  timeoutMs: number;
}

const MAGIC_0 = 0x46;
const MAGIC_1 = 0x4b;
const UNIT_MS = 100;
const MAX_UNITS = 0xff_ffff;

/** The longest interval a relay believes: past it, a silent agent would look online for too long. */
export const MAX_ANNOUNCED_INTERVAL_MS = 3_600_000;
/** The longest answer time a relay believes. */
export const MAX_ANNOUNCED_TIMEOUT_MS = 120_000;

function units(ms: number): number {
  return Math.min(MAX_UNITS, Math.max(1, Math.ceil(ms / UNIT_MS)));
}

/** The PING payload that announces `timing` (rounded up to tenths of a second). */
export function encodeKeepalivePing(timing: KeepaliveTiming): Buffer {
  const payload = Buffer.alloc(8);
  payload[0] = MAGIC_0;
  payload[1] = MAGIC_1;
  payload.writeUIntBE(units(timing.intervalMs), 2, 3);
  payload.writeUIntBE(units(timing.timeoutMs), 5, 3);
  return payload;
}

/** The timing a received PING announces, capped at what a relay believes; undefined when it announces none. */
export function decodeKeepalivePing(payload: Buffer | undefined): KeepaliveTiming | undefined {
  if (payload?.length !== 8 || payload[0] !== MAGIC_0 || payload[1] !== MAGIC_1) return undefined;
  return {
    intervalMs: Math.min(MAX_ANNOUNCED_INTERVAL_MS, payload.readUIntBE(2, 3) * UNIT_MS),
    timeoutMs: Math.min(MAX_ANNOUNCED_TIMEOUT_MS, payload.readUIntBE(5, 3) * UNIT_MS),
  };
}
