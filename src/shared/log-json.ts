import { type DestinationStream, pino } from "pino";
import type { Logger, LogLevel } from "./logger.js";

/** One stderr destination for every JSON logger of the process, written synchronously so no line is lost at exit. */
let stderrDestination: DestinationStream | undefined;

function stderr(): DestinationStream {
  stderrDestination ??= pino.destination({ fd: 2, sync: true });
  return stderrDestination;
}

/**
 * A logger writing pino's JSON lines: `level` (its name), `time` (ISO 8601), `component`,
 * `msg` and the fields beside them. `write` gets each line without its newline (tests).
 */
export function createJsonLogger(component: string, options: { level: LogLevel; write?: ((line: string) => void) | undefined; now: () => Date }): Logger {
  const { write, now } = options;
  const destination: DestinationStream = write ? { write: (chunk: string) => write(chunk.replace(/\n$/, "")) } : stderr();
  const log = pino(
    {
      level: options.level,
      // No pid or hostname: a collector adds where a line came from; the line says what happened.
      base: { component },
      timestamp: () => `,"time":"${now().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  // pino takes the fields first; an absent one is simply left out, as in the text form.
  return {
    debug: (msg, fields) => log.debug(fields ?? {}, msg),
    info: (msg, fields) => log.info(fields ?? {}, msg),
    warn: (msg, fields) => log.warn(fields ?? {}, msg),
    error: (msg, fields) => log.error(fields ?? {}, msg),
  };
}
