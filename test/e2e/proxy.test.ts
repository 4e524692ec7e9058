import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { assertExit, CLI, cliEnv, Sandbox } from "./helpers/processes.js";
import { type Squid, startSquid } from "./helpers/squid.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * Getting out of a plant through its HTTP proxy: a private squid from Debian on loopback,
 * asking for Basic or Digest. The agent registers and runs through it, the client logs in
 * and connects through it, and squid's own log shows the CONNECTs; a wrong proxy password is
 * one line, and a password on the command line is refused.
 */

const ACME = { account: "acme", user: "alice" };
const PROXY_USER = "plantuser";
const PROXY_PASSWORD = "pr0xy pass";

/** One round trip through a local forward. */
function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.end(text));
    let got = "";
    s.setEncoding("utf8").on("data", (d: string) => (got += d));
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
}

describe("through an HTTP proxy (squid)", () => {
  let sb: Sandbox;
  let site: Site;
  let echo: Target;
  let basic: Squid;
  let digest: Squid;

  before(async () => {
    sb = await Sandbox.create("proxy");
    sb.noteSecret("proxy password", PROXY_PASSWORD);
    [site, echo, basic, digest] = await Promise.all([
      Site.start(sb, [ACME]),
      startEchoServer(),
      startSquid({ scheme: "basic", user: PROXY_USER, password: PROXY_PASSWORD }),
      startSquid({ scheme: "digest", user: PROXY_USER, password: PROXY_PASSWORD }),
    ]);
  });
  after(async () => {
    await sb.cleanup();
    await Promise.all([echo?.close(), basic?.stop(), digest?.stop()]);
  });

  const viaBasic = (): string => `http://${PROXY_USER}@127.0.0.1:${basic.port}`;
  const withPassword = { FERNLINK_PROXY_PASSWORD: PROXY_PASSWORD };

  test("agent register and run, client login and connect, all through squid with Basic", async () => {
    const login = ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user, "--proxy", viaBasic()];
    assertExit(await site.cli(ACME.user, login, { env: withPassword }), 0);
    const key = await site.addDevice(ACME.user, "press-7");
    const state = sb.path("agent-basic");
    const register = ["agent", "register", "--server", site.url, "--ca", site.ca, "--key", key, "--state", state, "--proxy", viaBasic()];
    assertExit(await site.cli("agent", register, { env: withPassword }), 0);
    const agent = sb.start(["agent", "run", "--state", state, "--proxy", viaBasic()], { home: site.home("agent"), env: withPassword });
    await agent.waitForLine(/^fernlink agent online: device "press-7" via /);

    const connect = sb.start(["connect", "press-7", "--forward", `0:127.0.0.1:${echo.port}`, "--proxy", viaBasic()], {
      home: site.home(ACME.user),
      env: withPassword,
    });
    const [, port] = await connect.waitForLine(/^forwarding 127\.0\.0\.1:(\d+) -> /);
    assert.equal(await echoThrough(Number(port), "through squid"), "through squid");
    await connect.stop();
    await agent.stop();

    // Squid saw every kind of connection: the REST calls and both tunnels are CONNECTs to the server's port.
    const log = await basic.accessLog();
    const connects = log.split("\n").filter((l) => l.includes(`CONNECT 127.0.0.1:${site.port}`) && l.includes(PROXY_USER));
    assert.ok(connects.length >= 5, `expected CONNECTs by ${PROXY_USER} in squid's log:\n${log}`);
  });

  test("Digest, with the user and password from HTTPS_PROXY", async () => {
    const env = { HTTPS_PROXY: `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${digest.port}` };
    assertExit(await site.cli("dora", ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user], { env }), 0);
    const key = await site.addDevice(ACME.user, "press-8");
    assertExit(
      await site.cli("agent", ["agent", "register", "--server", site.url, "--ca", site.ca, "--key", key, "--state", sb.path("agent-digest")], { env }),
      0,
    );
    const log = await digest.accessLog();
    assert.match(log, new RegExp(`CONNECT 127\\.0\\.0\\.1:${site.port} ${PROXY_USER} `), log);
  });

  test("a wrong proxy password is one line naming the proxy and the user, never the password", async () => {
    const r = await site.cli("erin", ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user, "--proxy", viaBasic()], {
      env: { FERNLINK_PROXY_PASSWORD: "not it" },
    });
    const line = assertExit(
      r,
      1,
      /^fernlink: the proxy 127\.0\.0\.1:\d+ \(--proxy\) refused the user "plantuser" \(407\): check the user and FERNLINK_PROXY_PASSWORD$/,
    );
    assert.doesNotMatch(line ?? "", /not it/);
    const digestRun = await site.cli("erin", ["agent", "register", "--server", site.url, "--ca", site.ca, "--key", "X", "--state", sb.path("x")], {
      env: { HTTPS_PROXY: `http://${PROXY_USER}:wrong@127.0.0.1:${digest.port}` },
    });
    assertExit(digestRun, 1, /refused the user "plantuser" \(407\)/);
  });

  test("fernlink check through squid: the proxy lets CONNECT through; with a wrong password it is the blocked step", async () => {
    const args = ["check", "--server", site.url, "--ca", site.ca, "--proxy", viaBasic(), "--json"];
    const ok = await site.cli("tech", args, { env: withPassword });
    assertExit(ok, 0);
    const report = JSON.parse(ok.stdout) as { proxy: string; checks: { name: string; result: string; detail: string }[] };
    assert.equal(report.proxy, `http://127.0.0.1:${basic.port}`);
    assert.deepEqual(
      report.checks.filter((c) => c.result !== "passed").map((c) => `${c.name} ${c.result}`),
      [],
    );
    const wrong = await site.cli("tech", args, { env: { FERNLINK_PROXY_PASSWORD: "nope" } });
    assertExit(wrong, 1, /cannot be reached from here: proxy blocked/);
    const proxyCheck = (JSON.parse(wrong.stdout) as typeof report).checks.find((c) => c.name === "proxy");
    assert.match(proxyCheck?.detail ?? "", /refused the user "plantuser" \(407\)/);
  });

  test("a proxy user without FERNLINK_PROXY_PASSWORD is asked for the password on a terminal, and told how to give it elsewhere", async () => {
    const args = ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user, "--proxy", viaBasic()];
    assertExit(await site.cli("gina", args), 2, /the proxy user "plantuser" needs a password: set FERNLINK_PROXY_PASSWORD, or run on a terminal to be asked/);
    // script(1) gives the CLI a terminal; the password is typed into it, never seen on argv.
    const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const typed = spawn("script", ["-qec", command, "/dev/null"], { env: cliEnv({ home: site.home("gina") }), stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    typed.stdout.setEncoding("utf8").on("data", (d: string) => {
      output += d;
      if (!typed.stdin.writableEnded && /password of proxy user plantuser: /.test(output)) typed.stdin.end(`${PROXY_PASSWORD}\n`);
    });
    const [code] = (await once(typed, "exit")) as [number];
    assert.equal(code, 0, output);
    assert.match(output, /logged in/);
    assert.doesNotMatch(output, new RegExp(PROXY_PASSWORD), "the typed password is not echoed");
  });

  test("a password in --proxy is refused, and NO_PROXY goes direct", async () => {
    const args = ["login", "--server", site.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user];
    assertExit(
      await site.cli("fred", [...args, "--proxy", `http://${PROXY_USER}:secret@127.0.0.1:${basic.port}`]),
      2,
      /--proxy must not carry a password .*set FERNLINK_PROXY_PASSWORD instead/,
    );
    // A proxy that is not there: only NO_PROXY gets the login through.
    const dead = `http://127.0.0.1:${await closedPort()}`;
    assertExit(await site.cli("fred", args, { env: { HTTPS_PROXY: dead } }), 1, /cannot reach the proxy 127\.0\.0\.1:\d+ \(HTTPS_PROXY\) \(ECONNREFUSED\)/);
    assertExit(await site.cli("fred", args, { env: { HTTPS_PROXY: dead, NO_PROXY: "localhost,127.0.0.1" } }), 0);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
