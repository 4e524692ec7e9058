import { Option } from "commander";
import { UsageError } from "../protocol/errors.js";
import { createLogger, LOG_FORMATS, type LogFormat, type Logger } from "../shared/log.js";
import { reportErrorsTo } from "./output.js";

/** `--log-format text|json` of a long-running command (server, relay run, agent run). */
export function logFormatOption(): Option {
  return new Option("--log-format <format>", "log lines on stderr as text (default) or json, one pino JSON object a line (or FERNLINK_LOG_FORMAT)");
}

/** The format from `--log-format`, else FERNLINK_LOG_FORMAT, else text; anything else is a usage error. */
export function logFormat(flag: string | undefined): LogFormat {
  const fromEnv = process.env["FERNLINK_LOG_FORMAT"];
  const value = flag ?? (fromEnv === "" ? undefined : fromEnv) ?? "text";
  if (!(LOG_FORMATS as readonly string[]).includes(value)) {
    const source = flag === undefined ? "FERNLINK_LOG_FORMAT" : "--log-format";
    throw new UsageError(`${source} "${value}" is not a log format; give text or json`);
  }
  return value as LogFormat;
}

/**
 * The logger of a long-running command, in `format`. In the json form its closing error, and
 * an unexpected one that ends the process, are logged too, for collectors that read JSON only.
 */
export function commandLogger(component: string, format: LogFormat): Logger {
  const log = createLogger(component, { format });
  if (format !== "json") return log;
  reportErrorsTo(log);
  // Only watches: Node still prints the stack and exits as it would, but a collector that
  // reads JSON lines alone sees why the process ended too.
  process.on("uncaughtExceptionMonitor", (err, origin) => {
    log.error("the process ends on an unexpected error", { origin, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  });
  return log;
}

/** A note for the operator on stderr: as it is in the text form, as an info line in the json form. */
export function notice(log: Logger, format: LogFormat, text: string): void {
  if (format === "json") log.info(text);
  else process.stderr.write(`${text}\n`);
}
