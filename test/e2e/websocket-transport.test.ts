import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { freePort } from "../../src/shared/free-ports-test-kit.js";
import { Site } from "./helpers/fernlink.js";
import { type Nginx, startNginx } from "./helpers/nginx.js";
import { assertExit, Sandbox } from "./helpers/processes.js";
import { startEchoServer, type Target } from "./helpers/targets.js";

/**
 * A common deployment: nginx from Debian in front of the server, terminating TLS and passing
 * HTTP/1.1 and WebSocket upgrades only. The agent's TLS+ALPN tunnel and the client's HTTP/2
 * cannot pass it; both fall back to the WebSocket transport on their own, with the agent's
 * mutual TLS and the client's streams intact end to end.
 */

const ACME = { account: "acme", user: "alice" };

function echoThrough(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.end(text));
    let got = "";
    s.setEncoding("utf8").on("data", (d: string) => (got += d));
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
}

describe("the WebSocket transport through nginx", () => {
  let sb: Sandbox;
  let site: Site;
  let nginx: Nginx;
  let echo: Target;

  before(async () => {
    sb = await Sandbox.create("ws-transport");
    const front = await freePort();
    // Agents are told to reach the relay where they reach the server: at nginx.
    [site, echo] = await Promise.all([Site.start(sb, [ACME], { serverArgs: ["--public-url", `https://127.0.0.1:${front}`] }), startEchoServer()]);
    nginx = await startNginx({ port: front, upstreamPort: site.port });
  });
  after(async () => {
    await sb.cleanup();
    await Promise.all([echo?.close(), nginx?.stop()]);
  });

  test("agent and client reach each other through nginx", async () => {
    // The machines trust nginx's (public) CA as every machine trusts public CAs; the server's own CA comes with --ca.
    const env = { NODE_EXTRA_CA_CERTS: nginx.caFile };
    const login = ["login", "--server", nginx.url, "--ca", site.ca, "--account", ACME.account, "--user", ACME.user];
    assertExit(await site.cli(ACME.user, login, { env }), 0);
    const added = await site.cli(ACME.user, ["device", "add", "press-7", "--lan", "127.0.0.0/8"], { env });
    assertExit(added, 0);
    const key = /^activation key: (\S+)$/m.exec(added.stdout)?.[1] ?? "";
    const state = sb.path("agent");
    assertExit(await site.cli("agent", ["agent", "register", "--server", nginx.url, "--ca", site.ca, "--key", key, "--state", state], { env }), 0);
    const agent = sb.start(["agent", "run", "--state", state], { home: site.home("agent"), env });
    await agent.waitForLine(/^fernlink agent online: device "press-7" via 127\.0\.0\.1:\d+$/);
    const connect = sb.start(["connect", "press-7", "--forward", `0:127.0.0.1:${echo.port}`], { home: site.home(ACME.user), env });
    const [, port] = await connect.waitForLine(/^forwarding 127\.0\.0\.1:(\d+) -> /);
    assert.equal(await echoThrough(Number(port), "through nginx"), "through nginx");
    await connect.stop();
    await agent.stop();
    const log = await nginx.accessLog();
    const upgrades = log.split("\n").filter((l) => l.includes('GET /api/v1/transport HTTP/1.1" 101'));
    assert.ok(upgrades.length >= 2, `expected the agent's and the client's transport in nginx's log:\n${log}`);
  });
});
