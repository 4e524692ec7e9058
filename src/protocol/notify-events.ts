/**
 * What a notification rule can name, and the pure parts of a rule: its delay syntax and the
 * severities of machine alarms. The service, the CLI and the tests agree through this file.
 */

/** The events a rule may name, each with what it means. */
export const NOTIFY_EVENTS = {
  "device.offline": "a device's tunnel is down for longer than the rule's --after (default 5m)",
  "device.online": "a device is back after an offline notification was sent for it",
  "device.switch": "the machine owner turned the device's key switch",
  "login.locked": "a user was locked after too many failed logins",
  "certificate.expiring": "a device certificate ends within the rule's --after (default 30d)",
  alarm: "the machine raised an alarm (fernlink agent alarm, its HTTP endpoint or MQTT topic)",
} as const;

/** An event a rule may name. */
export type NotifyEvent = keyof typeof NOTIFY_EVENTS;

/** The event names, for schemas and help texts. */
export const NOTIFY_EVENT_NAMES = Object.keys(NOTIFY_EVENTS) as [NotifyEvent, ...NotifyEvent[]];

/** True when `value` names an event. */
export function isNotifyEvent(value: string): value is NotifyEvent {
  return Object.hasOwn(NOTIFY_EVENTS, value);
}

/** The delay a rule gets when none is given, in seconds. */
export const DEFAULT_DELAY_SECONDS: Readonly<Record<NotifyEvent, number>> = {
  "device.offline": 300,
  "device.online": 0,
  "device.switch": 0,
  "login.locked": 0,
  "certificate.expiring": 30 * 86_400,
  alarm: 0,
};

/** Alarm severities, lowest first. */
export const SEVERITIES = ["info", "warning", "critical"] as const;
/** How bad an alarm is. */
export type Severity = (typeof SEVERITIES)[number];

/** True when an alarm of `severity` reaches a rule asking for `atLeast` (undefined: every alarm). */
export function severityAtLeast(severity: Severity, atLeast: Severity | undefined): boolean {
  return atLeast === undefined || SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(atLeast);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** The longest delay a rule may have: a year. */
export const MAX_DELAY_SECONDS = 366 * 86_400;

/** A delay that is not `N`, `Ns`, `Nm`, `Nh` or `Nd`. */
export class DelaySyntaxError extends Error {
  override readonly name = "DelaySyntaxError";
  readonly code = "invalid-delay";
}

/** `5m`, `30s`, `2h`, `30d`, or a bare number of minutes, as seconds. */
export function parseDelay(text: string): number {
  const match = /^(\d{1,7})([smhd]?)$/.exec(text.trim());
  if (!match) throw new DelaySyntaxError(`delay "${text}" must be a number with a unit: 30s, 5m, 2h or 30d`);
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || "m"]!;
  if (seconds > MAX_DELAY_SECONDS) throw new DelaySyntaxError(`delay "${text}" is longer than a year`);
  return seconds;
}

/** A delay in its shortest exact form: `90s`, `5m`, `2h`, `30d`. */
export function formatDelay(seconds: number): string {
  for (const unit of ["d", "h", "m"] as const) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
