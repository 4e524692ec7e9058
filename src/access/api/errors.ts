import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { ErrorBody } from "../../protocol/api.js";
import { FernlinkError } from "../../protocol/errors.js";
import { type Logger, throttled } from "../../shared/log.js";

/** Names every invalid field at once: `name: use letters…; lan[0]: …`. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join(".") : "body"}: ${i.message}`).join("; ");
}

/** True when the client went away before its request was read (its body stream was aborted). */
function endedByClient(err: Error, c: Context): boolean {
  return err.name === "AbortError" || c.req.raw.signal.aborted;
}

/**
 * Maps any thrown value to a JSON error response; unexpected ones are logged, not shown.
 * Requests the client gave up on are its doing: one line each, at most 10 a minute.
 */
export function errorHandler(log: Logger) {
  const clientError = throttled(log.warn, { max: 10, intervalMs: 60_000 });
  return (err: Error, c: Context): Response => {
    let error: FernlinkError;
    if (err instanceof FernlinkError) error = err;
    else if (endedByClient(err, c)) {
      clientError("request ended by the client", {
        path: c.req.path,
        source: (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming?.socket?.remoteAddress,
        error: err.message,
      });
      error = new FernlinkError("invalid-input", "the request ended before its body arrived");
    } else if (err instanceof z.ZodError) error = new FernlinkError("invalid-input", `invalid request: ${describeZodError(err)}`);
    else if (err instanceof SyntaxError) error = new FernlinkError("invalid-input", "invalid request: the body is not JSON");
    else {
      log.error("request failed", { path: c.req.path, error: err.stack ?? String(err) });
      error = new FernlinkError("internal", "the server failed; see its log");
    }
    const body: ErrorBody = { error: { code: error.code, message: error.message } };
    if (error.retryAfterSeconds !== undefined) c.header("retry-after", String(error.retryAfterSeconds));
    return c.json(body, error.status as ContentfulStatusCode);
  };
}
