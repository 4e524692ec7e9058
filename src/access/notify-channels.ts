import { randomBytes, randomUUID } from "node:crypto";
import type { ChannelAdded, ChannelAddRequest, ChannelInfo, ChannelTestResult, NotificationInfo, RuleAddRequest, RuleInfo } from "../protocol/api-notify.js";
import { errorMessage, FernlinkError } from "../protocol/errors.js";
import { DEFAULT_DELAY_SECONDS, formatDelay, type NotifyEvent, type Severity } from "../protocol/notify-events.js";
import { auditBy } from "./audit-log.js";
import type { AccessContext, Principal } from "./context.js";
import { deviceByName } from "./devices.js";
import { type EmailConfig, type OpenChannel, SENDERS } from "./notify-senders.js";
import { openSecret, sealSecret } from "./secret-box.js";
import {
  createNotifyChannel,
  createNotifyRule,
  findNotifyChannel,
  listNotifyChannels,
  listNotifyRules,
  type NotifyRuleRow,
  recentNotifications,
  removeNotifyChannel,
  removeNotifyRule,
} from "./store/notifications.js";
import type { NotifyChannel } from "./store/schema.js";

/**
 * An account's notification channels and rules, as admins manage them (the routes check the
 * role first). Secrets (SMTP password, webhook HMAC secret, SMS URL template, which holds the
 * gateway's key) are sealed with the secret key and bound to the channel's id.
 */

const sealContext = (id: string): string => `notify-channel:${id}`;

/** A stored channel with its secret opened. */
export function openChannel(ctx: AccessContext, row: NotifyChannel): OpenChannel {
  return { row, secret: row.secret === null ? undefined : openSecret(ctx.secretKey, row.secret, sealContext(row.id)) };
}

function channelInfo(row: NotifyChannel): ChannelInfo {
  const via =
    row.kind === "email"
      ? (() => {
          const url = new URL((JSON.parse(row.config) as EmailConfig).smtp);
          return `${url.protocol}//${url.host}`;
        })()
      : row.kind === "sms"
        ? (JSON.parse(row.config) as { host?: string }).host
        : undefined;
  return { name: row.name, kind: row.kind, target: row.target, ...(via ? { via } : {}), createdAt: row.created_at };
}

/** Adds a channel; a webhook's new signing secret comes back once, in the answer. */
export async function addChannel(ctx: AccessContext, who: Principal, input: ChannelAddRequest): Promise<ChannelAdded> {
  const id = randomUUID();
  let target: string;
  let config: Record<string, unknown>;
  let secret: string | undefined;
  if (input.kind === "email") {
    if (new URL(input.smtp).username !== "" && input.smtpPassword === undefined)
      throw new FernlinkError("invalid-input", "the SMTP URL names a user: give the password too (FERNLINK_SMTP_PASSWORD)");
    target = input.to;
    const email: EmailConfig = { smtp: input.smtp, ...(input.from ? { from: input.from } : {}), ...(input.smtpCa ? { ca: input.smtpCa } : {}) };
    config = { ...email };
    secret = input.smtpPassword;
  } else if (input.kind === "webhook") {
    target = input.url;
    config = {};
    secret = randomBytes(32).toString("base64url");
  } else {
    target = input.to;
    config = { host: new URL(input.template.replaceAll("{to}", "0").replaceAll("{text}", "x")).host };
    secret = input.template;
  }
  const row: NotifyChannel = {
    id,
    account_id: who.accountId,
    name: input.name,
    kind: input.kind,
    target,
    config: JSON.stringify(config),
    secret: secret === undefined ? null : sealSecret(ctx.secretKey, secret, sealContext(id)),
    created_at: ctx.now().toISOString(),
  };
  await createNotifyChannel(ctx.db, row);
  await auditBy(ctx, who, "notify.channel-add", input.name, "ok", `${input.kind} to ${target}`);
  return { channel: channelInfo(row), ...(input.kind === "webhook" ? { secret } : {}) };
}

/** The account's channels. */
export async function listChannels(ctx: AccessContext, who: Principal): Promise<ChannelInfo[]> {
  return (await listNotifyChannels(ctx.db, who.accountId)).map(channelInfo);
}

async function channelByName(ctx: AccessContext, who: Principal, name: string): Promise<NotifyChannel> {
  const row = await findNotifyChannel(ctx.db, who.accountId, name);
  if (!row) throw new FernlinkError("not-found", `no notification channel "${name}" (see: fernlink notify channel list)`);
  return row;
}

/** Removes a channel with its rules and its queued notifications. */
export async function removeChannel(ctx: AccessContext, who: Principal, name: string): Promise<void> {
  const row = await channelByName(ctx, who, name);
  await removeNotifyChannel(ctx.db, row.id);
  await auditBy(ctx, who, "notify.channel-remove", name);
}

/** Sends a test message on a channel now, outside the queue, and says what happened; audited either way. */
export async function testChannel(ctx: AccessContext, who: Principal, name: string): Promise<ChannelTestResult> {
  const row = await channelByName(ctx, who, name);
  const at = ctx.now().toISOString();
  const json = JSON.stringify({ event: "test", account: who.accountName, device: null, at, text: `test message sent by ${who.userName}` });
  try {
    await SENDERS[row.kind](openChannel(ctx, row), {
      id: randomUUID(),
      event: "test",
      subject: `[Fernlink ${who.accountName}]: test`,
      text: `Test message from Fernlink, sent by ${who.userName} at ${at}.\n`,
      json,
    });
  } catch (err) {
    const error = errorMessage(err);
    await auditBy(ctx, who, "notify.channel-test", name, "error", error);
    return { delivered: false, error };
  }
  await auditBy(ctx, who, "notify.channel-test", name, "ok", `delivered to ${row.target}`);
  return { delivered: true };
}

function ruleInfo(row: NotifyRuleRow): RuleInfo {
  return {
    id: row.id,
    event: row.event as NotifyEvent,
    channel: row.channel_name,
    device: row.device_name,
    delaySeconds: row.delay_seconds,
    minSeverity: (row.min_severity as Severity | null) ?? null,
    createdAt: row.created_at,
  };
}

/** Adds a rule; the channel and the device are looked up by name in the caller's account. */
export async function addRule(ctx: AccessContext, who: Principal, input: RuleAddRequest): Promise<RuleInfo> {
  if (input.minSeverity !== undefined && input.event !== "alarm") throw new FernlinkError("invalid-input", "a minimum severity goes only with --on alarm");
  const channel = await channelByName(ctx, who, input.channel);
  const device = input.device === undefined ? undefined : await deviceByName(ctx, who, input.device);
  const delay = input.delaySeconds ?? DEFAULT_DELAY_SECONDS[input.event];
  const id = randomUUID();
  await createNotifyRule(ctx.db, {
    id,
    account_id: who.accountId,
    event: input.event,
    channel_id: channel.id,
    device_id: device?.id ?? null,
    delay_seconds: delay,
    min_severity: input.minSeverity ?? null,
    created_at: ctx.now().toISOString(),
  });
  const on = device ? `device ${device.name}` : "every device";
  await auditBy(ctx, who, "notify.rule-add", id, "ok", `${input.event} on ${on} after ${formatDelay(delay)} to ${channel.name}`);
  const rule = (await listNotifyRules(ctx.db, who.accountId)).find((r) => r.id === id);
  if (!rule) throw new FernlinkError("not-found", `no notification channel "${input.channel}"`);
  return ruleInfo(rule);
}

/** The account's rules. */
export async function listRules(ctx: AccessContext, who: Principal): Promise<RuleInfo[]> {
  return (await listNotifyRules(ctx.db, who.accountId)).map(ruleInfo);
}

/** Removes a rule and its queued notifications. */
export async function removeRule(ctx: AccessContext, who: Principal, id: string): Promise<void> {
  if (!(await removeNotifyRule(ctx.db, who.accountId, id)))
    throw new FernlinkError("not-found", `no notification rule "${id}" (see: fernlink notify rule list)`);
  await auditBy(ctx, who, "notify.rule-remove", id);
}

/** The account's latest 100 notifications. */
export async function listNotifications(ctx: AccessContext, who: Principal): Promise<NotificationInfo[]> {
  return (await recentNotifications(ctx.db, who.accountId, 100)).map((r) => ({
    id: r.id,
    event: r.event,
    channel: r.channel_name,
    device: r.device_name,
    subject: r.subject,
    state: r.state,
    attempts: r.attempts,
    dueAt: r.due_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    doneAt: r.done_at,
  }));
}
