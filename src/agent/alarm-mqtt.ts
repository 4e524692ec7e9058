import mqtt from "mqtt";
import { AlarmRequest } from "../protocol/api-notify.js";
import { errorMessage, UsageError } from "../protocol/errors.js";
import type { Severity } from "../protocol/notify-events.js";
import type { Logger } from "../shared/log.js";

/** Where alarms are read: a broker and a topic (MQTT wildcards allowed). */
export interface AlarmMqttSource {
  /** `mqtt://HOST:PORT` or `mqtts://…`, with the user if any (never a password). */
  broker: string;
  topic: string;
  username?: string;
}

/** `mqtt://[USER@]HOST[:PORT]/TOPIC`; a `#` wildcard is part of the topic here, not a URL fragment. */
export function parseAlarmMqtt(text: string): AlarmMqttSource {
  const match = /^(mqtts?):\/\/(?:([^@/:]+)@)?([^/@]+)\/(.+)$/.exec(text);
  if (!match) throw new UsageError(`--alarm-mqtt "${text}" must be mqtt://HOST:PORT/TOPIC, e.g. mqtt://127.0.0.1:1883/plant/alarms`);
  const [, scheme, user, host, topic] = match;
  return { broker: `${scheme}://${host}`, topic: topic!, ...(user ? { username: decodeURIComponent(user) } : {}) };
}

/** The severity of a message that is plain text rather than JSON. */
export const PLAIN_TEXT_SEVERITY: Severity = "warning";

/** A message on the topic as an alarm: JSON `{severity, text}`, or plain text (a warning); undefined when neither. */
export function alarmFromMessage(payload: Buffer): AlarmRequest | undefined {
  const text = payload.toString("utf8").trim();
  if (text === "") return undefined;
  if (text.startsWith("{")) {
    try {
      const parsed = AlarmRequest.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
  const plain = AlarmRequest.safeParse({ severity: PLAIN_TEXT_SEVERITY, text: text.slice(0, 1000) });
  return plain.success ? plain.data : undefined;
}

/**
 * Subscribes to the alarm topic on a local broker and hands each alarm to `onAlarm`. The
 * client connects in the background and reconnects by itself, so a broker that starts after
 * the agent is found; each subscription is logged. Returns a stop function.
 */
export function subscribeAlarms(
  source: AlarmMqttSource,
  options: { password?: string | undefined; onAlarm: (alarm: AlarmRequest) => void; log: Logger },
): () => Promise<void> {
  const client = mqtt.connect(source.broker, {
    clientId: `fernlink-agent-${process.pid}`,
    reconnectPeriod: 2_000,
    connectTimeout: 10_000,
    ...(source.username ? { username: source.username } : {}),
    ...(options.password ? { password: options.password } : {}),
  });
  client.on("message", (_topic, payload) => {
    const alarm = alarmFromMessage(payload);
    if (alarm) options.onAlarm(alarm);
    else options.log.warn("alarm topic: message ignored (send JSON {severity, text} or plain text)", { topic: _topic });
  });
  client.on("error", (err) => options.log.warn("alarm broker", { broker: source.broker, error: errorMessage(err) }));
  // Subscribed again after each reconnect: a clean session forgets subscriptions.
  client.on("connect", () =>
    client.subscribe(source.topic, { qos: 1 }, (err) => {
      if (err) options.log.warn("cannot subscribe to the alarm topic", { topic: source.topic, error: errorMessage(err) });
      else options.log.info("alarm topic subscribed", { broker: source.broker, topic: source.topic });
    }),
  );
  return () => client.endAsync();
}
