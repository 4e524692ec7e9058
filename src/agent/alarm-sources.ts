import type { AddressInfo } from "node:net";
import type { Logger } from "../shared/log.js";
import { startAlarmListener } from "./alarm-http.js";
import { type AlarmMqttSource, subscribeAlarms } from "./alarm-mqtt.js";
import { AlarmForwarder, sendAlarm } from "./alarm-report.js";
import type { AgentState } from "./state.js";

/** Where `agent run` takes the machine's alarms from. */
export interface AlarmSourceOptions {
  listen?: { host: string; port: number } | undefined;
  mqtt?: AlarmMqttSource | undefined;
  mqttPassword?: string | undefined;
}

/**
 * Starts the agent's alarm inputs (loopback HTTP endpoint, MQTT topic) feeding one forwarder
 * to the service. Returns the address the endpoint listens on (if any) and a stop function.
 */
export async function startAlarmSources(
  state: AgentState,
  options: AlarmSourceOptions,
  log: Logger,
): Promise<{ listening?: string; stop: () => Promise<void> }> {
  const forwarder = new AlarmForwarder((alarm) => sendAlarm(state, alarm), log);
  const stops: (() => Promise<void>)[] = [async () => forwarder.close()];
  let listening: string | undefined;
  try {
    if (options.listen) {
      const server = await startAlarmListener({ ...options.listen, onAlarm: (alarm) => void forwarder.raise(alarm, "http") });
      const address = server.address() as AddressInfo;
      listening = `${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
      stops.push(() => new Promise((resolve) => server.close(() => resolve())));
    }
    if (options.mqtt) {
      stops.push(subscribeAlarms(options.mqtt, { password: options.mqttPassword, onAlarm: (alarm) => void forwarder.raise(alarm, "mqtt"), log }));
    }
  } catch (err) {
    await Promise.all(stops.map((s) => s()));
    throw err;
  }
  return { ...(listening ? { listening } : {}), stop: async () => void (await Promise.all(stops.map((s) => s().catch(() => undefined)))) };
}
