import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** An on-demand device's check-in state. */
export interface DeviceCheckIn {
  deviceId: string;
  intervalSeconds: number;
  checkedInAt: string;
  wantedUntil: string | null;
}

function fromRow(row: { device_id: string; interval_seconds: number | string; checked_in_at: string; wanted_until: string | null }): DeviceCheckIn {
  return { deviceId: row.device_id, intervalSeconds: Number(row.interval_seconds), checkedInAt: row.checked_in_at, wantedUntil: row.wanted_until };
}

/** Records a check-in (and the interval the agent says it keeps); returns the row as it is now. */
export async function recordCheckIn(db: Kysely<Database>, checkIn: { deviceId: string; intervalSeconds: number; now: Instant }): Promise<DeviceCheckIn> {
  const row = { device_id: checkIn.deviceId, interval_seconds: checkIn.intervalSeconds, checked_in_at: iso(checkIn.now) };
  const saved = await db
    .insertInto("device_check_ins")
    .values({ ...row, wanted_until: null })
    .onConflict((oc) => oc.column("device_id").doUpdateSet({ interval_seconds: row.interval_seconds, checked_in_at: row.checked_in_at }))
    .returningAll()
    .executeTakeFirstOrThrow();
  return fromRow(saved);
}

/**
 * Wants the device's tunnel up until `until` (a later wish is never shortened by an earlier
 * one). A device that never checked in gets a row too, so an agent started in on-demand mode
 * right after the ask still sees it on its first check-in.
 */
export async function wantDevice(db: Kysely<Database>, deviceId: string, until: Instant): Promise<void> {
  const wanted = iso(until);
  await db
    .insertInto("device_check_ins")
    .values({ device_id: deviceId, interval_seconds: 0, checked_in_at: iso(new Date(0)), wanted_until: wanted })
    .onConflict((oc) =>
      oc
        .column("device_id")
        .doUpdateSet({ wanted_until: wanted })
        .where((eb) => eb.or([eb("device_check_ins.wanted_until", "is", null), eb("device_check_ins.wanted_until", "<", wanted)])),
    )
    .execute();
}

/** The device's check-in row, if it has one. */
export async function findCheckIn(db: Kysely<Database>, deviceId: string): Promise<DeviceCheckIn | undefined> {
  const row = await db.selectFrom("device_check_ins").selectAll().where("device_id", "=", deviceId).executeTakeFirst();
  return row ? fromRow(row) : undefined;
}
