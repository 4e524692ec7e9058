import { errorMessage } from "../protocol/errors.js";
import { audit } from "./audit-log.js";
import type { AccessContext } from "./context.js";
import { DEFAULT_RETRY, type RetryPolicy, retryDelayMs } from "./notify-backoff.js";
import { openChannel } from "./notify-channels.js";
import { scanExpiringCertificates } from "./notify-expiry.js";
import { SENDERS } from "./notify-senders.js";
import { claimDueNotifications, finishNotification, getNotifyChannel, pruneNotifications, retryNotification } from "./store/notifications.js";
import type { NotificationRow } from "./store/schema.js";

/** Notifications done are kept this long for `notify log`, then deleted (the audit keeps each one's end). */
export const NOTIFICATION_RETENTION_MS = 30 * 86_400_000;

/** How the delivery worker runs. */
export interface NotifyWorkerOptions {
  /** Time between looks at the queue. */
  pollMs?: number;
  /** How long a claimed row is this node's before another may take it over (a sender that died). */
  leaseMs?: number;
  retry?: RetryPolicy;
  /** Time between scans for certificates running out (and prunes of old notifications). */
  expiryScanMs?: number;
}

/** The delivery worker: start it once per node, stop it before the store closes. */
export interface NotifyWorker {
  start(): void;
  /** Looks at the queue now (also what each poll does); resolves when the rows it took are settled. */
  runOnce(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Delivers queued notifications, at least once: every node polls the queue, claims due rows
 * one by one (only one node gets each), sends, and records the outcome. A failure is retried
 * with exponential backoff until the tries are spent; each notification's end, sent or failed,
 * is audited in its account. A device.offline notification whose device is back is cancelled.
 */
export function createNotifyWorker(ctx: AccessContext, options: NotifyWorkerOptions = {}): NotifyWorker {
  const pollMs = options.pollMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const retry = options.retry ?? DEFAULT_RETRY;
  const expiryScanMs = options.expiryScanMs ?? 3_600_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let lastScan = 0;

  const settle = async (row: NotificationRow): Promise<void> => {
    const now = ctx.now();
    if (row.event === "device.offline" && row.device_id && ctx.presence.status(row.device_id)) {
      await finishNotification(ctx.db, row.id, { state: "cancelled", error: "the device was back before the delay ran out", now });
      return;
    }
    const channel = await getNotifyChannel(ctx.db, row.channel_id);
    if (!channel) {
      // Removed since the row was claimed: its rows go with it, so this is at most a no-op.
      await finishNotification(ctx.db, row.id, { state: "cancelled", error: "the channel was removed", now });
      return;
    }
    const record = (action: "notify.sent" | "notify.failed", reason: string) =>
      audit(ctx, {
        accountId: row.account_id,
        actor: null,
        source: null,
        action,
        object: channel.name,
        result: action === "notify.sent" ? "ok" : "error",
        reason,
        device: row.device_name,
      });
    try {
      await SENDERS[channel.kind](openChannel(ctx, channel), { id: row.id, event: row.event, subject: row.subject, text: textOf(row), json: row.body });
    } catch (err) {
      const error = errorMessage(err);
      const delay = retryDelayMs(row.attempts, retry);
      if (delay !== undefined) {
        ctx.log.warn("notification not delivered, will retry", { channel: channel.name, event: row.event, attempt: row.attempts, error });
        await retryNotification(ctx.db, row.id, new Date(ctx.now().getTime() + delay), error);
        return;
      }
      await finishNotification(ctx.db, row.id, { state: "failed", error, now: ctx.now() });
      await record("notify.failed", `${row.event} via ${channel.kind}, ${row.attempts} attempts: ${error}`);
      return;
    }
    await finishNotification(ctx.db, row.id, { state: "sent", now: ctx.now() });
    await record("notify.sent", `${row.event} via ${channel.kind} to ${channel.target}${row.attempts > 1 ? ` (attempt ${row.attempts})` : ""}`);
  };

  const runOnce = async (): Promise<void> => {
    if (Date.now() - lastScan >= expiryScanMs) {
      lastScan = Date.now();
      await scanExpiringCertificates(ctx);
      await pruneNotifications(ctx.db, new Date(ctx.now().getTime() - NOTIFICATION_RETENTION_MS));
    }
    for (;;) {
      const rows = await claimDueNotifications(ctx.db, ctx.now(), leaseMs, 10);
      await Promise.all(rows.map((row) => settle(row).catch((err: unknown) => ctx.log.error("notification worker", { id: row.id, error: errorMessage(err) }))));
      if (rows.length < 10 || stopped) return;
    }
  };

  const poll = (): void => {
    if (stopped || running) return;
    running = ctx.work
      .track(runOnce())
      .catch((err: unknown) => ctx.log.error("cannot read the notification queue", { error: errorMessage(err) }))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    start() {
      timer = setInterval(poll, pollMs);
      timer.unref();
      poll();
    },
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** The e-mail's text: the event's line, then its fields. */
function textOf(row: NotificationRow): string {
  const fields = JSON.parse(row.body) as Record<string, unknown>;
  const lines = [String(fields["text"] ?? row.subject), ""];
  for (const [key, value] of Object.entries(fields)) if (key !== "text" && value !== null && typeof value !== "object") lines.push(`${key}: ${String(value)}`);
  return `${lines.join("\n")}\n`;
}
