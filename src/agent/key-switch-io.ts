import { watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "../shared/log.js";
import { KeySwitch, type KeySwitchIO } from "./key-switch.js";
import { describeSwitchSource, type SwitchSource, switchReader } from "./switch-source.js";

/** Poll interval of a switch file: a backstop for the file watch, which normally reports a change at once. */
export const SWITCH_FILE_POLL_MS = 1_000;

/** Poll interval of a switch command: nothing tells when its answer changes, and a change must count within 1 s. */
export const SWITCH_COMMAND_POLL_MS = 500;

/**
 * Watches the directory, not the file: `agent switch` and most editors replace the file by a
 * rename, which ends a watch on the file itself. Where watching fails, polling alone remains.
 */
function watchFile(path: string, log: Logger): (changed: () => void) => () => void {
  return (changed) => {
    try {
      const name = basename(path);
      const watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) changed();
      });
      watcher.on("error", (err) => {
        log.debug("switch file watch ended; polling only", { error: String(err) });
        watcher.close();
      });
      return () => watcher.close();
    } catch (err) {
      log.debug("cannot watch the switch file; polling only", { path, error: String(err) });
      return () => {};
    }
  };
}

/** The real IO for a switch source: timers, the file watch, and the reader. */
export function keySwitchIO(source: SwitchSource, log: Logger): KeySwitchIO {
  return {
    read: switchReader(source),
    setTimer: (fn, ms) => {
      const timer = setTimeout(fn, ms);
      timer.unref();
      return () => clearTimeout(timer);
    },
    ...(source.kind === "file" ? { watch: watchFile(source.path, log) } : {}),
  };
}

/** A switch watcher for `source` whose reading problems are logged once each. */
export function createKeySwitch(source: SwitchSource, log: Logger): KeySwitch {
  const where = describeSwitchSource(source);
  return new KeySwitch(keySwitchIO(source, log), {
    pollMs: source.kind === "file" ? SWITCH_FILE_POLL_MS : SWITCH_COMMAND_POLL_MS,
    onProblem: (problem) =>
      problem === undefined ? log.info("key switch readable again", { source: where }) : log.warn("key switch unreadable: treated as off", { problem }),
  });
}
