import { CommanderError } from "commander";
import { CidrSyntaxError } from "../protocol/cidr.js";
import { FernlinkError, UsageError } from "../protocol/errors.js";
import { TargetSyntaxError } from "../protocol/target.js";
import type { Logger } from "../shared/log.js";

/**
 * Exit statuses of the command line contract. `revoked`: the service refused this agent's or
 * relay's certificate for good, so a service manager must not restart it (RestartPreventExitStatus=).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, revoked: 3 } as const;

/** Ends a command with a given exit status and no further message (e.g. 130 after Ctrl-C). */
export class ExitStatus extends Error {
  override readonly name = "ExitStatus";

  constructor(readonly status: number) {
    super(`exit status ${status}`);
  }
}

/** Where a command's closing error goes instead of a text line: its JSON logger (`--log-format json`). */
let errorLog: Logger | undefined;

/** Makes `reportError` log the error with `log` from now on. */
export function reportErrorsTo(log: Logger): void {
  errorLog = log;
}

/** Prints an error as one `fernlink: …` line on stderr (or logs it, see reportErrorsTo) and returns the exit status. */
export function reportError(err: unknown): number {
  if (err instanceof ExitStatus) return err.status;
  if (err instanceof CommanderError) {
    // Commander already printed its message and the usage hint.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const usage = err instanceof UsageError || err instanceof TargetSyntaxError || err instanceof CidrSyntaxError || isUsageLike(err);
  const message = err instanceof Error ? err.message : String(err);
  const stack = !usage && !(err instanceof FernlinkError) && process.env["FERNLINK_LOG"] === "debug" && err instanceof Error ? err.stack : undefined;
  if (errorLog) errorLog.error(oneLine(message), stack ? { stack } : undefined);
  else process.stderr.write(`fernlink: ${oneLine(message)}\n${stack ? `${stack}\n` : ""}`);
  if (err instanceof FernlinkError && err.code === "certificate-revoked") return EXIT.revoked;
  return usage ? EXIT.usage : EXIT.failure;
}

function isUsageLike(err: unknown): boolean {
  return err instanceof Error && "code" in err && err.code === "invalid-allow";
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** Prints one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as aligned columns, with a header. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join("\n")}\n`);
}
