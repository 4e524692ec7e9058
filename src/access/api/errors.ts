import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { ErrorBody } from "../../protocol/api.js";
import { FernlinkError } from "../../shared/errors.js";
import type { Logger } from "../../shared/log.js";

/** Names every invalid field at once: `name: use letters…; lan[0]: …`. */
export function describeZodError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join(".") : "body"}: ${i.message}`).join("; ");
}

/** Maps any thrown value to a JSON error response; unexpected ones are logged, not shown. */
export function errorHandler(log: Logger) {
  return (err: Error, c: Context): Response => {
    let error: FernlinkError;
    if (err instanceof FernlinkError) error = err;
    else if (err instanceof z.ZodError) error = new FernlinkError("invalid-input", `invalid request: ${describeZodError(err)}`);
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
