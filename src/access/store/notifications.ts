import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { FernlinkError } from "../../protocol/errors.js";
import { constraintViolation } from "./db-errors.js";
import type { Database, NotificationRow, NotifyChannel, NotifyRule } from "./schema.js";
import type { Instant } from "./time.js";
import { iso } from "./time.js";

/** Stores a channel; "conflict" when the account has one of that name. */
export async function createNotifyChannel(db: Kysely<Database>, row: NotifyChannel): Promise<void> {
  try {
    await db.insertInto("notify_channels").values(row).execute();
  } catch (err) {
    if (constraintViolation(err) === "unique") throw new FernlinkError("conflict", `channel "${row.name}" exists already`, { cause: err });
    throw err;
  }
}

/** The account's channels, by name. */
export function listNotifyChannels(db: Kysely<Database>, accountId: string): Promise<NotifyChannel[]> {
  return db.selectFrom("notify_channels").selectAll().where("account_id", "=", accountId).orderBy("name").execute();
}

/** The account's channel called `name`, if any. */
export function findNotifyChannel(db: Kysely<Database>, accountId: string, name: string): Promise<NotifyChannel | undefined> {
  return db.selectFrom("notify_channels").selectAll().where("account_id", "=", accountId).where("name", "=", name).executeTakeFirst();
}

/** The channel with this id, if any. */
export function getNotifyChannel(db: Kysely<Database>, id: string): Promise<NotifyChannel | undefined> {
  return db.selectFrom("notify_channels").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Deletes a channel with its rules and notifications; false if it was absent. */
export async function removeNotifyChannel(db: Kysely<Database>, id: string): Promise<boolean> {
  // Explicitly, not by cascade: SQLite enforces foreign keys only where the connection asks for it.
  await db.deleteFrom("notifications").where("channel_id", "=", id).execute();
  await db.deleteFrom("notify_rules").where("channel_id", "=", id).execute();
  const result = await db.deleteFrom("notify_channels").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** A rule with the names its listing shows. */
export type NotifyRuleRow = NotifyRule & { channel_name: string; device_name: string | null };

function rulesWithNames(db: Kysely<Database>) {
  return db
    .selectFrom("notify_rules")
    .innerJoin("notify_channels", "notify_channels.id", "notify_rules.channel_id")
    .leftJoin("devices", "devices.id", "notify_rules.device_id")
    .selectAll("notify_rules")
    .select(["notify_channels.name as channel_name", "devices.name as device_name"]);
}

/** Stores a rule. */
export async function createNotifyRule(db: Kysely<Database>, row: NotifyRule): Promise<void> {
  await db.insertInto("notify_rules").values(row).execute();
}

/** The account's rules, oldest first. */
export function listNotifyRules(db: Kysely<Database>, accountId: string): Promise<NotifyRuleRow[]> {
  return rulesWithNames(db).where("notify_rules.account_id", "=", accountId).orderBy("notify_rules.created_at").orderBy("notify_rules.id").execute();
}

/** The account's rules for one event: on `deviceId` or on every device (or all, without a device). */
export function rulesForEvent(db: Kysely<Database>, accountId: string, event: string): Promise<NotifyRuleRow[]> {
  return rulesWithNames(db).where("notify_rules.account_id", "=", accountId).where("notify_rules.event", "=", event).execute();
}

/** Every account's rules for one event (the certificate scan). */
export function allRulesForEvent(db: Kysely<Database>, event: string): Promise<NotifyRuleRow[]> {
  return rulesWithNames(db).where("notify_rules.event", "=", event).execute();
}

/** Deletes the account's rule `id` with its notifications; false if absent. */
export async function removeNotifyRule(db: Kysely<Database>, accountId: string, id: string): Promise<boolean> {
  const rule = await db.selectFrom("notify_rules").select("id").where("account_id", "=", accountId).where("id", "=", id).executeTakeFirst();
  if (!rule) return false;
  await db.deleteFrom("notifications").where("rule_id", "=", id).execute();
  await db.deleteFrom("notify_rules").where("id", "=", id).execute();
  return true;
}

/** Adds notifications; one already there for the same rule and event key is left as it is. Returns how many were new. */
export async function enqueueNotifications(db: Kysely<Database>, rows: readonly NotificationRow[]): Promise<number> {
  let added = 0;
  for (const row of rows) {
    const result = await db
      .insertInto("notifications")
      .values(row)
      .onConflict((oc) => oc.columns(["rule_id", "event_key"]).doNothing())
      .executeTakeFirst();
    added += Number(result.numInsertedOrUpdatedRows ?? 0n);
  }
  return added;
}

/** A fresh queued notification row; `due` is when it may first be sent. */
export function newNotification(
  fields: Omit<NotificationRow, "id" | "state" | "attempts" | "claimed_until" | "last_error" | "done_at" | "due_at" | "created_at">,
  due: Instant,
  now: Instant,
): NotificationRow {
  return {
    id: randomUUID(),
    state: "queued",
    attempts: 0,
    claimed_until: null,
    last_error: null,
    done_at: null,
    due_at: iso(due),
    created_at: iso(now),
    ...fields,
  };
}

/**
 * Takes up to `limit` notifications that are due, or whose sender's lease ran out, for this node
 * until `now + leaseMs`. Each row is taken by a conditional UPDATE … RETURNING, so of nodes
 * racing for it exactly one gets it, on SQLite and on PostgreSQL alike.
 */
export async function claimDueNotifications(db: Kysely<Database>, now: Date, leaseMs: number, limit: number): Promise<NotificationRow[]> {
  const at = iso(now);
  const candidates = await db
    .selectFrom("notifications")
    .select("id")
    .where((eb) => eb.or([eb.and([eb("state", "=", "queued"), eb("due_at", "<=", at)]), eb.and([eb("state", "=", "sending"), eb("claimed_until", "<=", at)])]))
    .orderBy("due_at")
    .limit(limit)
    .execute();
  const claimed: NotificationRow[] = [];
  for (const { id } of candidates) {
    const row = await db
      .updateTable("notifications")
      .set((eb) => ({ state: "sending", claimed_until: iso(new Date(now.getTime() + leaseMs)), attempts: eb("attempts", "+", 1) }))
      .where("id", "=", id)
      .where((eb) =>
        eb.or([eb.and([eb("state", "=", "queued"), eb("due_at", "<=", at)]), eb.and([eb("state", "=", "sending"), eb("claimed_until", "<=", at)])]),
      )
      .returningAll()
      .executeTakeFirst();
    if (row) claimed.push(row);
  }
  return claimed;
}

/** Ends a notification this node holds: sent, failed for good, or cancelled (the event no longer holds). */
export async function finishNotification(
  db: Kysely<Database>,
  id: string,
  outcome: { state: "sent" | "failed" | "cancelled"; error?: string; now: Instant },
): Promise<void> {
  await db
    .updateTable("notifications")
    .set({ state: outcome.state, claimed_until: null, done_at: iso(outcome.now), ...(outcome.error === undefined ? {} : { last_error: outcome.error }) })
    .where("id", "=", id)
    .execute();
}

/** Puts a notification back in the queue after a failed attempt, to be tried at `due`. */
export async function retryNotification(db: Kysely<Database>, id: string, due: Instant, error: string): Promise<void> {
  await db
    .updateTable("notifications")
    .set({ state: "queued", claimed_until: null, due_at: iso(due), last_error: error })
    .where("id", "=", id)
    .execute();
}

/** Cancels the device's offline notifications not yet sent (it is back); returns how many. */
export async function cancelQueuedOffline(db: Kysely<Database>, deviceId: string, now: Instant): Promise<number> {
  const result = await db
    .updateTable("notifications")
    .set({ state: "cancelled", done_at: iso(now), last_error: "the device came back before the delay ran out" })
    .where("device_id", "=", deviceId)
    .where("event", "=", "device.offline")
    .where("state", "=", "queued")
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * True when the device's latest offline notification was sent (or is being sent), later than its
 * latest back-online one: a device that comes back is announced only to those told it was gone.
 */
export async function offlineWasAnnounced(db: Kysely<Database>, deviceId: string): Promise<boolean> {
  const latest = (event: string, states: NotificationRow["state"][]) =>
    db
      .selectFrom("notifications")
      .select("created_at")
      .where("device_id", "=", deviceId)
      .where("event", "=", event)
      .where("state", "in", states)
      .orderBy("created_at", "desc")
      .limit(1)
      .executeTakeFirst();
  const offline = await latest("device.offline", ["sent", "sending", "failed"]);
  if (!offline) return false;
  const online = await latest("device.online", ["queued", "sending", "sent", "failed"]);
  return online === undefined || online.created_at < offline.created_at;
}

/** A notification with its channel's name. */
export type NotificationListRow = NotificationRow & { channel_name: string };

/** The account's latest notifications, newest first. */
export function recentNotifications(db: Kysely<Database>, accountId: string, limit: number): Promise<NotificationListRow[]> {
  return db
    .selectFrom("notifications")
    .innerJoin("notify_channels", "notify_channels.id", "notifications.channel_id")
    .selectAll("notifications")
    .select("notify_channels.name as channel_name")
    .where("notifications.account_id", "=", accountId)
    .orderBy("notifications.created_at", "desc")
    .limit(limit)
    .execute();
}

/** Deletes notifications done (sent, failed, cancelled) before `before`; returns how many. */
export async function pruneNotifications(db: Kysely<Database>, before: Instant): Promise<number> {
  const result = await db
    .deleteFrom("notifications")
    .where("state", "in", ["sent", "failed", "cancelled"])
    .where("done_at", "<", iso(before))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
