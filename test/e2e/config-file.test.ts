import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { assertExit, PASSWORD, Sandbox } from "./helpers/processes.js";

let sb: Sandbox;

before(async () => {
  sb = await Sandbox.create("config-file");
});

after(() => sb?.cleanup());

test("a server starts from its config file alone, and its first admin logs in", async () => {
  const data = sb.path("data");
  const config = sb.path("server.toml");
  await writeFile(
    config,
    [
      "# every setting of this server; the admin's password comes from FERNLINK_PASSWORD",
      `data = "${data}"`,
      `listen = "127.0.0.1:0"`,
      `hostname = ["localhost", "127.0.0.1"]`,
      `init-account = "acme"`,
      `init-user = "alice"`,
      `stream-rate = 20`,
      "",
    ].join("\n"),
  );
  const server = sb.start(["server", "--config", config], { home: sb.path("home-server") });
  const [, url] = await server.waitForLine(/^fernlink server ready: (https:\/\/\S+)$/);
  assert.ok(existsSync(sb.path("data", "ca.pem")), "the data folder is the file's");

  const login = await sb.run(["login", "--server", url!, "--ca", sb.path("data", "ca.pem"), "--account", "acme", "--user", "alice"], {
    home: sb.path("home-alice"),
  });
  assertExit(login, 0);
  const stopped = await server.stop();
  assert.equal(stopped.code, 0, stopped.stderr);
});

test("a config file with an unknown key or a secret is one usage line naming the file and key, and nothing starts", async () => {
  const data = sb.path("data-bad");
  const typo = sb.path("typo.toml");
  await writeFile(typo, `data = "${data}"\nlistn = "127.0.0.1:0"\n`);
  assertExit(
    await sb.run(["server", "--config", typo], { home: sb.path("home-server") }),
    2,
    /^fernlink: \S+typo\.toml: unknown key "listn" for fernlink server/,
  );

  const secret = sb.path("secret.toml");
  await writeFile(secret, `data = "${data}"\npassword = "${PASSWORD}"\n`);
  const refused = await sb.run(["server", "--config", secret], { home: sb.path("home-server") });
  assertExit(refused, 2, /^fernlink: \S+secret\.toml: key "password" holds a secret.*FERNLINK_PASSWORD/);
  assert.ok(!refused.stderr.includes(PASSWORD), "the secret is not repeated");
  assert.ok(!existsSync(data), "no data folder was made");

  const relay = sb.path("relay.toml");
  await writeFile(relay, `state = "${sb.path("relay-state")}"\naccess = "https://127.0.0.1:1"\n`);
  assertExit(await sb.run(["relay", "run", "--config", relay], { home: sb.path("home-relay") }), 2, /key "access" is repeatable: give an array/);
});
