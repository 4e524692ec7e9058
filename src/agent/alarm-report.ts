import { setTimeout as sleep } from "node:timers/promises";
import { AlarmAnswer, type AlarmRequest, NOTIFY_ROUTES } from "../protocol/api-notify.js";
import { errorMessage, FernlinkError } from "../protocol/errors.js";
import { requestJson } from "../shared/https-json.js";
import type { Logger } from "../shared/log.js";
import { type BackoffOptions, backoffDelay } from "./backoff.js";
import type { AgentState } from "./state.js";

/** One alarm call may take this long. */
const ALARM_TIMEOUT_MS = 10_000;

/** Sends one alarm to the access service, authenticated by the device certificate. */
export function sendAlarm(state: AgentState, alarm: AlarmRequest): Promise<AlarmAnswer> {
  return requestJson({
    server: state.config.server,
    path: NOTIFY_ROUTES.agentAlarm,
    method: "POST",
    body: alarm,
    ca: state.caPem,
    cert: state.certPem,
    key: state.keyPem,
    response: AlarmAnswer,
    timeoutMs: ALARM_TIMEOUT_MS,
  });
}

/** Alarms held while the service cannot be reached; past it the oldest is dropped (and logged). */
export const ALARM_QUEUE_LIMIT = 100;

/** True for answers that trying again cannot change (a malformed alarm, a revoked certificate). */
function isFinal(err: unknown): boolean {
  return err instanceof FernlinkError && err.status >= 400 && err.status < 500 && err.code !== "throttled";
}

/**
 * Forwards the alarms the machine raises (HTTP endpoint, MQTT topic) to the service, one at a
 * time and in order; while the service cannot be reached they wait, up to
 * {@link ALARM_QUEUE_LIMIT}, and are tried again with backoff, so an alarm raised during a
 * network outage still arrives.
 */
export class AlarmForwarder {
  readonly #send: (alarm: AlarmRequest) => Promise<unknown>;
  readonly #log: Logger;
  readonly #backoff: BackoffOptions;
  readonly #queue: AlarmRequest[] = [];
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(send: (alarm: AlarmRequest) => Promise<unknown>, log: Logger, backoff: BackoffOptions = { baseMs: 1_000, maxMs: 60_000 }) {
    this.#send = send;
    this.#log = log;
    this.#backoff = backoff;
  }

  /** Queues an alarm; resolves when the queue is empty again (tests wait for it). */
  raise(alarm: AlarmRequest, from: string): Promise<void> {
    if (this.#queue.length >= ALARM_QUEUE_LIMIT) {
      const dropped = this.#queue.shift();
      this.#log.error("alarm queue full, oldest alarm dropped", { text: dropped?.text });
    }
    this.#queue.push(alarm);
    this.#log.info("alarm", { from, severity: alarm.severity, text: alarm.text });
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops retrying; alarms still queued are dropped. */
  close(): void {
    this.#closed = true;
  }

  async #drain(): Promise<void> {
    let attempt = 0;
    while (this.#queue.length > 0 && !this.#closed) {
      const alarm = this.#queue[0]!;
      try {
        await this.#send(alarm);
        this.#queue.shift();
        attempt = 0;
      } catch (err) {
        if (isFinal(err)) {
          this.#log.error("alarm refused by the service", { text: alarm.text, error: errorMessage(err) });
          this.#queue.shift();
          continue;
        }
        const delay = backoffDelay(attempt++, this.#backoff);
        this.#log.warn("alarm not delivered yet, will retry", { error: errorMessage(err), retryInMs: delay, waiting: this.#queue.length });
        await sleep(delay, undefined, { ref: false });
      }
    }
  }
}
