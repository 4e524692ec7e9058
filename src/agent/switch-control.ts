import type { SwitchState } from "../protocol/key-switch.js";
import type { Logger } from "../shared/log.js";
import type { KeySwitch } from "./key-switch.js";
import { StreamGate } from "./stream-gate.js";
import { SwitchReporter } from "./switch-report.js";

/** One connection attempt's view of the switch: a signal and a promise that fire when it turns off. */
export interface SwitchGuard {
  signal: AbortSignal;
  off: Promise<"switched-off">;
  dispose: () => void;
}

/** What the agent's run loop asks of the key switch. */
export interface SwitchControl {
  gate: StreamGate;
  isOff: () => boolean;
  /** Resolves once the switch is not at `off` (or `signal` aborts). */
  waitWhileOff: (signal: AbortSignal) => Promise<void>;
  /** Aborts with `signal`, or when the switch turns to `off`. */
  guard: (signal: AbortSignal) => SwitchGuard;
  /** A tunnel is up: tell the service the position if it does not have it yet. */
  tunnelUp: () => void;
  stop: () => void;
}

/**
 * Ties the key switch to the agent: a turn away from `remote` closes the open streams at once
 * and refuses new ones (the gate), a turn to `off` ends the tunnel (the run loop, through
 * `guard`), and every turn is reported to the service. Without a switch, streams pass.
 */
export function switchControl(keySwitch: KeySwitch | undefined, send: (position: SwitchState) => Promise<void>, log: Logger): SwitchControl {
  const position = (): SwitchState => keySwitch?.state ?? "remote";
  const gate = new StreamGate(() => position() === "remote");
  const reporter = new SwitchReporter(send, log);
  const unsubscribe = keySwitch?.onChange(({ from, to }) => {
    const closed = to === "remote" ? 0 : gate.closeAll();
    log.info("key switch turned", { from, to, streamsClosed: closed });
    void reporter.report(to);
  });
  return {
    gate,
    isOff: () => position() === "off",
    waitWhileOff: async (signal) => {
      if (keySwitch?.state !== "off") return;
      log.info("switched off on site: no connection to the service until the switch turns");
      await keySwitch.waitFor((s) => s !== "off", signal);
    },
    guard: (signal) => {
      const controller = new AbortController();
      let fire: () => void = () => {};
      const off = new Promise<"switched-off">((resolve) => {
        fire = () => {
          controller.abort();
          resolve("switched-off");
        };
      });
      const stopWatching = keySwitch?.onChange(({ to }) => {
        if (to === "off") fire();
      });
      if (position() === "off") fire();
      return { signal: AbortSignal.any([signal, controller.signal]), off, dispose: () => stopWatching?.() };
    },
    tunnelUp: () => {
      if (keySwitch) void reporter.report(keySwitch.state);
    },
    stop: () => {
      unsubscribe?.();
      keySwitch?.stop();
    },
  };
}
