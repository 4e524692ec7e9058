import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger, logFormatFromEnv, throttled } from "./log.js";

test("a throttled log writes at most max lines per interval and then says how many it left out", () => {
  const lines: string[] = [];
  let clock = 0;
  const log = createLogger("test", { level: "debug", write: (line) => lines.push(line), now: () => new Date(0) });
  const warn = throttled(log.warn, { max: 2, intervalMs: 1000, now: () => clock });
  for (let i = 0; i < 5; i++) warn("client error", { n: i });
  assert.deepEqual(
    lines.map((l) => l.replace(/^\S+ /, "")),
    ["warn test: client error n=0", "warn test: client error n=1"],
  );
  clock = 1000;
  warn("client error", { n: 5 });
  warn("client error", { n: 6 });
  warn("client error", { n: 7 });
  assert.equal(lines[2], "1970-01-01T00:00:00.000Z warn test: client error n=5 leftOut=3");
  assert.equal(lines[3], "1970-01-01T00:00:00.000Z warn test: client error n=6");
  assert.equal(lines.length, 4);
});

test("the text form writes time, level, component, message and the fields as key=value", () => {
  const lines: string[] = [];
  const log = createLogger("relay", { format: "text", level: "info", write: (line) => lines.push(line), now: () => new Date(0) });
  log.debug("left out below the level");
  log.info("agent connected", { device: "press-7", relay: "node a", skipped: undefined });
  assert.deepEqual(lines, ['1970-01-01T00:00:00.000Z info relay: agent connected device=press-7 relay="node a"']);
});

test("the json form writes one pino object a line: level by name, ISO time, component, msg and the fields beside them", () => {
  const lines: string[] = [];
  const log = createLogger("server", { format: "json", level: "info", write: (line) => lines.push(line), now: () => new Date(0) });
  log.debug("left out below the level");
  log.info("agent connected", { device: "press-7", streams: 3, skipped: undefined });
  log.error("store unreachable\nsecond line", { nested: { code: "ECONNREFUSED" } });
  assert.equal(lines.length, 2);
  assert.ok(
    lines.every((line) => !line.includes("\n")),
    "one line each, newlines escaped",
  );
  assert.deepEqual(JSON.parse(lines[0]!), {
    level: "info",
    time: "1970-01-01T00:00:00.000Z",
    component: "server",
    msg: "agent connected",
    device: "press-7",
    streams: 3,
  });
  assert.deepEqual(JSON.parse(lines[1]!), {
    level: "error",
    time: "1970-01-01T00:00:00.000Z",
    component: "server",
    msg: "store unreachable\nsecond line",
    nested: { code: "ECONNREFUSED" },
  });
});

test("the form comes from FERNLINK_LOG_FORMAT when not given, and is text unless that says json", () => {
  const saved = process.env["FERNLINK_LOG_FORMAT"];
  try {
    for (const [env, expected] of [
      ["json", "json"],
      ["text", "text"],
      ["yaml", "text"],
      [undefined, "text"],
    ] as const) {
      if (env === undefined) delete process.env["FERNLINK_LOG_FORMAT"];
      else process.env["FERNLINK_LOG_FORMAT"] = env;
      assert.equal(logFormatFromEnv(), expected);
      const lines: string[] = [];
      createLogger("agent", { write: (line) => lines.push(line) }).info("up");
      assert.equal(lines[0]!.startsWith("{"), expected === "json", lines[0]);
    }
  } finally {
    if (saved === undefined) delete process.env["FERNLINK_LOG_FORMAT"];
    else process.env["FERNLINK_LOG_FORMAT"] = saved;
  }
});
