import assert from "node:assert/strict";
import { copyFile, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { echoVia, Site } from "./helpers/fernlink.js";
import { assertExit, Sandbox } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/** The one-file agent `npm run build` makes. */
const AGENT_FILE = fileURLToPath(new URL("../../../dist/fernlink-agent.mjs", import.meta.url));

const ACME = { account: "acme", user: "alice" };

let sb: Sandbox;
let site: Site;
let echo: Target;

before(async () => {
  sb = await Sandbox.create("agent-one-file");
  site = await Site.start(sb, [ACME]);
  await site.login(ACME);
  echo = await startEchoServer();
  sb.defer(echo.close);
});

after(() => sb?.cleanup());

test("the one-file agent, alone in an empty folder, registers, runs from a config file and carries a forward", async () => {
  // A gateway: Node and this one file, no node_modules and no build tree anywhere above it.
  const gateway = sb.path("gateway");
  await mkdir(gateway);
  const file = join(gateway, "fernlink-agent.mjs");
  await copyFile(AGENT_FILE, file);
  const onGateway = { script: file, cwd: gateway, home: sb.path("home-gateway") };

  const key = await site.addDevice("alice", "press-1");
  const registered = await sb.run(["agent", "register", "--server", site.url, "--ca", site.ca, "--state", join(gateway, "state")], {
    ...onGateway,
    env: { FERNLINK_ACTIVATION_KEY: key },
  });
  assertExit(registered, 0);
  assert.match(registered.stdout, /^registered as device "press-1" of account "acme"/m);

  await writeFile(join(gateway, "agent.toml"), `state = "${join(gateway, "state")}"\nallow = ["127.0.0.1/32:${echo.port}"]\n`);
  const agent = sb.start(["agent", "run", "--config", join(gateway, "agent.toml")], onGateway);
  await agent.waitForLine(/^fernlink agent online: device "press-1" via \S+$/);
  await site.waitForDevice("alice", "press-1", true);

  const conn = await site.connect("alice", "press-1", [`127.0.0.1:${echo.port}`]);
  assert.equal(await echoVia(conn, "through the one-file agent\n"), "through the one-file agent\n");
  await conn.proc.stop();

  // The allowlist came from the file: a port it does not name is refused by the agent.
  const refused = await site.cli("alice", ["connect", "press-1", "--stdio", `127.0.0.2:${echo.port}`], { input: "" });
  assertExit(refused, 1, new RegExp(`^fernlink: target 127\\.0\\.0\\.2:${echo.port} is not allowed by the agent of "press-1"`));

  const stopped = await agent.stop();
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.deepEqual((await readdir(gateway)).sort(), ["agent.toml", "fernlink-agent.mjs", "state"]);
});
