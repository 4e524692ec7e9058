import { ROUTES } from "../protocol/api.js";
import { errorMessage } from "../protocol/errors.js";
import { SwitchReportAnswer, type SwitchState } from "../protocol/key-switch.js";
import { requestJson } from "../shared/https-json.js";
import type { Logger } from "../shared/log.js";
import type { AgentState } from "./state.js";

/** A report of the switch may take this long: a change to `off` is its last word before the agent goes silent. */
const REPORT_TIMEOUT_MS = 5_000;

/** Tells the access service the switch's position, authenticated by the device certificate. */
export async function sendSwitchReport(state: AgentState, position: SwitchState): Promise<void> {
  await requestJson({
    server: state.config.server,
    path: ROUTES.agentSwitch,
    method: "POST",
    body: { state: position },
    ca: state.caPem,
    cert: state.certPem,
    key: state.keyPem,
    response: SwitchReportAnswer,
    timeoutMs: REPORT_TIMEOUT_MS,
  });
}

/**
 * Keeps the service told of the switch with as few calls as possible: a position is sent when
 * it differs from the last one the service confirmed, one call at a time (the latest position
 * wins), so a fleet reconnecting after a relay loss asks nothing extra. A failed report is
 * tried again at the next tunnel up.
 */
export class SwitchReporter {
  readonly #send: (position: SwitchState) => Promise<void>;
  readonly #log: Logger;
  #confirmed: SwitchState | undefined;
  #wanted: SwitchState | undefined;
  #running: Promise<void> | undefined;

  /** `send` makes one report; failures are logged, never thrown. */
  constructor(send: (position: SwitchState) => Promise<void>, log: Logger) {
    this.#send = send;
    this.#log = log;
  }

  /** The last position the service confirmed. */
  get confirmed(): SwitchState | undefined {
    return this.#confirmed;
  }

  /** Sends `position` unless the service already has it; resolves when the reports under way are done. */
  report(position: SwitchState): Promise<void> {
    this.#wanted = position;
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#wanted !== undefined && this.#wanted !== this.#confirmed) {
      const position = this.#wanted;
      try {
        await this.#send(position);
        this.#confirmed = position;
      } catch (err) {
        this.#log.warn("cannot report the key switch to the service; it is told at the next connection", { state: position, reason: errorMessage(err) });
        if (this.#wanted === position) return;
      }
    }
  }
}
