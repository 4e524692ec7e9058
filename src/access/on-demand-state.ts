import type { WakeResponse } from "../protocol/api-on-demand.js";
import type { DeviceCheckIn } from "./store/device-check-ins.js";

/** A device counts as on demand while its last check-in is at most this many intervals old (plus a minute). */
const STALE_INTERVALS = 3;
const STALE_GRACE_MS = 60_000;
/** How long a wish outlives the agent's next check-in, for its request to cross a slow link. */
const WISH_GRACE_MS = 60_000;
/** The interval assumed for a device that never checked in: the agent's default. */
const ASSUMED_INTERVAL_SECONDS = 300;

/** True while the check-ins of `row` are recent enough to call the device on demand. */
export function isOnDemand(row: DeviceCheckIn | undefined, now: Date): row is DeviceCheckIn {
  if (!row || row.intervalSeconds <= 0) return false;
  return now.getTime() - Date.parse(row.checkedInAt) <= STALE_INTERVALS * row.intervalSeconds * 1000 + STALE_GRACE_MS;
}

/** True while someone wants the device's tunnel up. */
export function isWanted(row: DeviceCheckIn | undefined, now: Date): boolean {
  return row?.wantedUntil != null && Date.parse(row.wantedUntil) >= now.getTime();
}

/**
 * Until when one ask keeps the device wanted: past its next check-in, so the agent sees the
 * wish even when nobody asks again (a published port's connection that came and went).
 */
export function wishUntil(row: DeviceCheckIn | undefined, now: Date): Date {
  const seconds = row && row.intervalSeconds > 0 ? row.intervalSeconds : ASSUMED_INTERVAL_SECONDS;
  return new Date(now.getTime() + seconds * 1000 + WISH_GRACE_MS);
}

/** What a user asking for the device is told. */
export function wakeView(name: string, row: DeviceCheckIn | undefined, online: boolean, now: Date): WakeResponse {
  const onDemand = isOnDemand(row, now);
  const checkedIn = row && row.intervalSeconds > 0 ? row.checkedInAt : null;
  return {
    device: name,
    online,
    onDemand,
    checkInSeconds: onDemand ? row.intervalSeconds : null,
    lastCheckIn: checkedIn,
    nextCheckIn: onDemand ? new Date(Date.parse(row.checkedInAt) + row.intervalSeconds * 1000).toISOString() : null,
  };
}
