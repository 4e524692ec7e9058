import { randomUUID } from "node:crypto";
import type { AlarmAnswer, AlarmRequest } from "../protocol/api-notify.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { audit } from "./audit-log.js";
import type { AccessContext } from "./context.js";
import { raiseEvent } from "./notify-raise.js";

/**
 * An alarm the machine raised, sent by its agent with the device certificate: audited in the
 * device's account and queued for the account's alarm rules. Each alarm is its own event: the
 * same text twice is two alarms.
 */
export async function recordAlarm(ctx: AccessContext, agent: AgentIdentity, alarm: AlarmRequest, source: string): Promise<AlarmAnswer> {
  const at = ctx.now();
  await audit(ctx, {
    accountId: agent.accountId,
    actor: null,
    source,
    action: "alarm",
    object: agent.deviceName,
    result: "ok",
    reason: `${alarm.severity}: ${alarm.text}`,
    device: agent.deviceName,
  });
  const queued = await raiseEvent(ctx, {
    event: "alarm",
    accountId: agent.accountId,
    deviceId: agent.deviceId,
    deviceName: agent.deviceName,
    at,
    key: `alarm:${randomUUID()}`,
    summary: `${agent.deviceName} ${alarm.severity}: ${alarm.text}`,
    severity: alarm.severity,
  });
  return { queued };
}
