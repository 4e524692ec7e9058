import { createJsonLogger } from "./log-json.js";
import type { Logger, LogLevel } from "./logger.js";

export type { Logger, LogLevel } from "./logger.js";

/** How log lines look: `text` for people at a terminal, `json` (pino's lines) for collectors. */
export type LogFormat = "text" | "json";

/** The formats `--log-format` and FERNLINK_LOG_FORMAT take. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** How a logger is made; every part has a default (FERNLINK_LOG, FERNLINK_LOG_FORMAT, stderr, the clock). */
export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  write?: (line: string) => void;
  now?: () => Date;
}

/**
 * Logs one line per event to `write` (stderr by default): `time level component: message
 * key=value…` in the text form, a pino JSON line in the json form.
 */
export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? levelFromEnv();
  const now = options.now ?? (() => new Date());
  if ((options.format ?? logFormatFromEnv()) === "json") return createJsonLogger(component, { level, write: options.write, now });
  const min = ORDER[level];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return;
    const extra = fields
      ? Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
          .join(" ")
      : "";
    write(`${now().toISOString()} ${level} ${component}: ${msg}${extra ? ` ${extra}` : ""}`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** FERNLINK_LOG_FORMAT when it names a format, else `text`. */
export function logFormatFromEnv(): LogFormat {
  return process.env["FERNLINK_LOG_FORMAT"] === "json" ? "json" : "text";
}

function levelFromEnv(): LogLevel {
  const value = process.env["FERNLINK_LOG"];
  return value === "debug" || value === "warn" || value === "error" ? value : "info";
}

/**
 * A log call that writes at most `max` lines per `intervalMs`, for events a peer can cause
 * at will (client errors, refused connections): the first line of the next interval says
 * how many were left out.
 */
export function throttled(
  write: (msg: string, fields?: Record<string, unknown>) => void,
  options: { max: number; intervalMs: number; now?: () => number },
): (msg: string, fields?: Record<string, unknown>) => void {
  const now = options.now ?? Date.now;
  let windowStart = -Infinity;
  let written = 0;
  let leftOut = 0;
  return (msg, fields) => {
    const at = now();
    if (at - windowStart >= options.intervalMs) {
      windowStart = at;
      written = 0;
    }
    if (written >= options.max) {
      leftOut++;
      return;
    }
    written++;
    write(msg, leftOut > 0 ? { ...fields, leftOut } : fields);
    leftOut = 0;
  };
}
