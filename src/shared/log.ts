/** Severity of a log line; lines below the configured level are dropped. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A minimal structured logger: one line per event on stderr, never secrets. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Logs `time level component: message key=value…` to `write` (stderr by default). */
export function createLogger(component: string, options: { level?: LogLevel; write?: (line: string) => void; now?: () => Date } = {}): Logger {
  const min = ORDER[options.level ?? levelFromEnv()];
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return;
    const extra = fields
      ? Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
          .join(" ")
      : "";
    write(`${now().toISOString()} ${level} ${component}: ${msg}${extra ? " " + extra : ""}`);
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
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
