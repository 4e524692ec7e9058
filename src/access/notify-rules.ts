import { type NotifyEvent, type Severity, severityAtLeast } from "../protocol/notify-events.js";

/** Something that happened, as the rules see it. */
export interface NotifyEventInput {
  event: NotifyEvent;
  accountId: string;
  /** The device it is about; absent for account events (a locked user). */
  deviceId?: string | undefined;
  deviceName?: string | undefined;
  at: Date;
  /** The event's identity: a second report of the same key makes no second notification. */
  key: string;
  /** One line for people: "press-7 is offline since 10:02:11Z". */
  summary: string;
  /** alarm only. */
  severity?: Severity | undefined;
  /** Further fields for the webhook's JSON. */
  details?: Record<string, string | number | boolean | null>;
}

/** What matching needs of a rule. */
export interface RuleFilter {
  event: string;
  device_id: string | null;
  min_severity: string | null;
}

/** True when `rule` asks for `event`: the same event, its device or every device, and for alarms a severity at least the rule's. */
export function ruleMatches(rule: RuleFilter, event: NotifyEventInput): boolean {
  if (rule.event !== event.event) return false;
  if (rule.device_id !== null && rule.device_id !== event.deviceId) return false;
  if (event.event === "alarm") return event.severity !== undefined && severityAtLeast(event.severity, (rule.min_severity as Severity | null) ?? undefined);
  return true;
}

/** The subject, text and webhook JSON of an event's notification. */
export function composeMessage(event: NotifyEventInput, account: string): { subject: string; body: string } {
  const about = event.deviceName ? ` ${event.deviceName}` : "";
  const level = event.severity ? ` ${event.severity}` : "";
  const subject = `[Fernlink ${account}]${about}: ${event.event}${level}`;
  const body = JSON.stringify({
    event: event.event,
    account,
    device: event.deviceName ?? null,
    at: event.at.toISOString(),
    text: event.summary,
    ...(event.severity ? { severity: event.severity } : {}),
    ...(event.details ? { details: event.details } : {}),
  });
  return { subject, body };
}
