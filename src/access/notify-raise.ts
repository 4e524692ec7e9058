import { errorMessage } from "../protocol/errors.js";
import type { AccessContext } from "./context.js";
import { composeMessage, type NotifyEventInput, ruleMatches } from "./notify-rules.js";
import { findAccountById } from "./store/accounts.js";
import { cancelQueuedOffline, enqueueNotifications, type NotifyRuleRow, newNotification, offlineWasAnnounced, rulesForEvent } from "./store/notifications.js";

/**
 * Queues one notification per rule the event matches. A device.offline one is due after the
 * rule's delay (the worker then checks the device is still away); the rest at once. Returns how
 * many were queued (a key seen before adds none).
 */
export async function raiseEvent(ctx: AccessContext, event: NotifyEventInput, only: (rule: NotifyRuleRow) => boolean = () => true): Promise<number> {
  const rules = (await rulesForEvent(ctx.db, event.accountId, event.event)).filter((r) => ruleMatches(r, event) && only(r));
  if (rules.length === 0) return 0;
  const account = (await findAccountById(ctx.db, event.accountId))?.name ?? event.accountId;
  const { subject, body } = composeMessage(event, account);
  const now = ctx.now();
  const rows = rules.map((rule) =>
    newNotification(
      {
        account_id: event.accountId,
        rule_id: rule.id,
        channel_id: rule.channel_id,
        event: event.event,
        event_key: event.key,
        device_id: event.deviceId ?? null,
        device_name: event.deviceName ?? null,
        subject,
        body,
      },
      event.event === "device.offline" ? new Date(event.at.getTime() + rule.delay_seconds * 1000) : now,
      now,
    ),
  );
  return enqueueNotifications(ctx.db, rows);
}

/** Runs `raise` in the background (tracked, so shutdown waits for it); a failure is logged, never thrown at the caller. */
export function raiseInBackground(ctx: AccessContext, raise: () => Promise<unknown>): void {
  void ctx.work.track(raise().catch((err: unknown) => ctx.log.error("cannot queue a notification", { error: errorMessage(err) })));
}

/** What a tunnel event says of its device. */
export interface DeviceSighting {
  accountId: string;
  deviceId: string;
  deviceName: string;
  at: Date;
}

/** A device's tunnel went down: its offline notifications are queued, due after each rule's delay. */
export function deviceWentDown(ctx: AccessContext, d: DeviceSighting): Promise<number> {
  return raiseEvent(ctx, {
    event: "device.offline",
    accountId: d.accountId,
    deviceId: d.deviceId,
    deviceName: d.deviceName,
    at: d.at,
    key: `offline:${d.deviceId}:${d.at.toISOString()}`,
    summary: `${d.deviceName} is offline since ${d.at.toISOString()}`,
  });
}

/**
 * A device's tunnel came up: offline notifications still waiting are cancelled (a restart, a
 * move to another relay or node), and those told it was gone are told it is back.
 */
export async function deviceCameUp(ctx: AccessContext, d: DeviceSighting): Promise<number> {
  await cancelQueuedOffline(ctx.db, d.deviceId, ctx.now());
  if (!(await offlineWasAnnounced(ctx.db, d.deviceId))) return 0;
  return raiseEvent(ctx, {
    event: "device.online",
    accountId: d.accountId,
    deviceId: d.deviceId,
    deviceName: d.deviceName,
    at: d.at,
    key: `online:${d.deviceId}:${d.at.toISOString()}`,
    summary: `${d.deviceName} is back online since ${d.at.toISOString()}`,
  });
}
