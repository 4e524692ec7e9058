import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { UsageError } from "../protocol/errors.js";
import { logFormat } from "./log-format.js";

describe("the log format of a long-running command", () => {
  function withEnv<T>(value: string | undefined, fn: () => T): T {
    const saved = process.env["FERNLINK_LOG_FORMAT"];
    if (value === undefined) delete process.env["FERNLINK_LOG_FORMAT"];
    else process.env["FERNLINK_LOG_FORMAT"] = value;
    try {
      return fn();
    } finally {
      if (saved === undefined) delete process.env["FERNLINK_LOG_FORMAT"];
      else process.env["FERNLINK_LOG_FORMAT"] = saved;
    }
  }

  it("is text unless asked for otherwise", () => {
    assert.equal(
      withEnv(undefined, () => logFormat(undefined)),
      "text",
    );
    assert.equal(
      withEnv("", () => logFormat(undefined)),
      "text",
    );
  });

  it("takes --log-format before FERNLINK_LOG_FORMAT", () => {
    assert.equal(
      withEnv("json", () => logFormat(undefined)),
      "json",
    );
    assert.equal(
      withEnv("json", () => logFormat("text")),
      "text",
    );
  });

  it("refuses any other format as a usage error naming where it came from", () => {
    assert.throws(
      () => withEnv(undefined, () => logFormat("yaml")),
      (err: unknown) => err instanceof UsageError && /--log-format "yaml"/.test(err.message),
    );
    assert.throws(
      () => withEnv("JSON", () => logFormat(undefined)),
      (err: unknown) => err instanceof UsageError && /FERNLINK_LOG_FORMAT "JSON"/.test(err.message),
    );
  });

  it("in the json form logs an error that ends the process as a JSON line, and the process still ends with status 1", () => {
    const module = new URL("./log-format.js", import.meta.url).href;
    const script = [
      `import { commandLogger } from ${JSON.stringify(module)};`,
      `commandLogger("agent", "json");`,
      `setTimeout(() => { throw new Error("boom"); }, 1);`,
    ].join(" ");
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 20_000 });
    assert.equal(run.status, 1, run.stderr);
    const first = JSON.parse(run.stderr.split("\n")[0]!) as Record<string, unknown>;
    assert.equal(first["level"], "error");
    assert.equal(first["component"], "agent");
    assert.equal(first["origin"], "uncaughtException");
    assert.match(first["error"] as string, /^Error: boom/);
  });
});
