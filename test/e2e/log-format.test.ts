import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { Sandbox } from "./helpers/processes.js";
import { echoRoundTrip, sha256, startEchoServer, type Target } from "./helpers/targets.js";

const ACME = { account: "acme", user: "alice" };
const LEVELS = new Set(["debug", "info", "warn", "error"]);

let sb: Sandbox;
let site: Site;
let echo: Target;

before(async () => {
  sb = await Sandbox.create("log-format");
  echo = await startEchoServer();
  sb.defer(echo.close);
  site = await Site.start(sb, [ACME], { serverArgs: ["--log-format", "json", "--metrics-listen", "127.0.0.1:0"] });
  await site.login(ACME);
});

after(() => sb?.cleanup());

/** Every stderr line parsed as a JSON object with pino's fields; fails naming the first line that is not one. */
function jsonLines(stderr: string, component: string): Record<string, unknown>[] {
  const lines = stderr.split("\n").filter((line) => line !== "");
  return lines.map((line) => {
    let parsed: unknown;
    assert.doesNotThrow(() => (parsed = JSON.parse(line)), `not a JSON line on stderr: ${line}`);
    const entry = parsed as Record<string, unknown>;
    assert.ok(LEVELS.has(entry["level"] as string), `level: ${line}`);
    assert.ok(!Number.isNaN(Date.parse(entry["time"] as string)), `time: ${line}`);
    assert.equal(entry["component"], component, line);
    assert.equal(typeof entry["msg"], "string", line);
    return entry;
  });
}

test("with --log-format json every line a server and an agent write on stderr is a pino JSON object, the closing error included", async () => {
  const dir = await site.register(await site.addDevice("alice", "press-7"), "agent-press-7");
  // The agent takes its format from the environment, as a service unit would set it.
  const agent = sb.start(["agent", "run", "--state", dir], { home: site.home("agent"), env: { FERNLINK_LOG_FORMAT: "json" } });
  await agent.waitForLine(/^fernlink agent online: /);
  const conn = await site.connect("alice", "press-7", [`127.0.0.1:${echo.port}`]);
  const payload = Buffer.alloc(1000, 1);
  assert.equal(await echoRoundTrip(conn.forwards[0]!, payload), sha256(payload));
  await conn.proc.stop();

  // A second server on the same port ends with its error as a JSON line.
  const busy = await sb.run(["server", "--data", site.dataDir, "--listen", `127.0.0.1:${site.port}`, "--log-format", "json"], { home: site.home("server") });
  assert.equal(busy.code, 1, busy.stderr);
  const [closing] = jsonLines(busy.stderr, "server");
  assert.equal(closing?.["level"], "error");
  assert.match(closing?.["msg"] as string, /already runs at/);

  const agentEnd = await agent.stop();
  const serverEnd = await site.server.stop();
  assert.equal(serverEnd.code, 0, serverEnd.stderr);
  const server = jsonLines(serverEnd.stderr, "server");
  assert.ok(
    server.some((e) => /^metrics at http:/.test(e["msg"] as string)),
    "the operator's note became a JSON line",
  );
  assert.ok(
    server.some((e) => e["msg"] === "shutting down"),
    "the last line before exit was written",
  );
  const agentLines = jsonLines(agentEnd.stderr, "agent");
  assert.ok(
    agentLines.some((e) => e["msg"] === "key switch" && e["state"] === "remote"),
    "fields stand beside msg",
  );
});

test("a secret on the stderr of a long-running process fails the sandbox's cleanup, naming its kind and the process but not the secret", async () => {
  const other = await Sandbox.create("log-leak");
  const secret = "leaked-secret-0123456789";
  other.noteSecret("test secret", secret);
  // A usage error quotes the value it refused: here the noted secret.
  const proc = other.start(["server", "--log-format", secret], { home: other.path("home") });
  await proc.exited;
  await assert.rejects(other.cleanup(), (err: Error) => {
    assert.match(err.message, /test secret on the stderr of process 1: fernlink server --log-format/);
    assert.ok(!err.message.includes(secret), "the failure message does not repeat the secret");
    return true;
  });
});
