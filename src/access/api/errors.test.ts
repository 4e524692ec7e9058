import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Hono } from "hono";
import { z } from "zod";
import { FernlinkError } from "../../protocol/errors.js";
import { createLogger } from "../../shared/log.js";
import { errorHandler } from "./errors.js";

function appThrowing(err: Error): Hono {
  const app = new Hono();
  app.onError(errorHandler(createLogger("test", { level: "error", write: () => {} })));
  app.get("/", () => {
    throw err;
  });
  return app;
}

describe("the API error handler", () => {
  it("answers a FernlinkError with its status and code", async () => {
    const res = await appThrowing(new FernlinkError("not-found", 'no such device "x"')).request("/");
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: { code: "not-found", message: 'no such device "x"' } });
  });

  it("tells a throttled caller when to retry in a Retry-After header", async () => {
    const res = await appThrowing(new FernlinkError("throttled", "too many failed logins", { retryAfterSeconds: 90 })).request("/");
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "90");
  });

  it("names every invalid field of a rejected body", async () => {
    const parsed = z.strictObject({ name: z.string(), port: z.number() }).safeParse({ name: 1, port: "x" });
    assert.equal(parsed.success, false);
    const res = await appThrowing(parsed.error!).request("/");
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, 400);
    assert.equal(body.error.code, "invalid-input");
    assert.match(body.error.message, /name: .*; port: /);
  });

  it("hides the details of unexpected failures", async () => {
    const res = await appThrowing(new Error("secret database detail")).request("/");
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, 500);
    assert.equal(body.error.code, "internal");
    assert.doesNotMatch(body.error.message, /secret/);
  });

  it("logs requests the client gave up on in one line without a stack, at most 10 a minute", async () => {
    const lines: string[] = [];
    const app = new Hono();
    app.onError(errorHandler(createLogger("test", { level: "debug", write: (line) => lines.push(line) })));
    app.post("/", () => {
      throw new DOMException("The operation was aborted", "AbortError");
    });
    for (let i = 0; i < 50; i++) assert.equal((await app.request("/", { method: "POST" })).status, 400);
    assert.equal(lines.length, 10);
    assert.match(lines[0]!, /warn test: request ended by the client path=\/ error="The operation was aborted"$/);
    assert.ok(lines.every((line) => !line.includes("\n") && !/ at /.test(line)));
  });
});
