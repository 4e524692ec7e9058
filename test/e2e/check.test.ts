import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { INSPECTION_CA, type Interceptor, startInterceptor } from "./helpers/interception.js";
import { assertExit, Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * `fernlink check`: the checklist a technician runs on site before calling IT. Against a
 * working server everything passes; against a closed port TCP is blocked and the fix says what
 * to open; behind a TLS interceptor the chain is blocked and the inspection CA named. The
 * agent runs the same checks when it cannot connect, and logs them once.
 */

const ACME = { account: "acme", user: "alice" };

interface CheckJson {
  server: string;
  proxy: string | null;
  passed: boolean;
  checks: { name: string; result: string; detail: string; fix?: string }[];
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("fernlink check", () => {
  let sb: Sandbox;
  let site: Site;
  let dpi: Interceptor;

  before(async () => {
    sb = await Sandbox.create("check");
    site = await Site.start(sb, [ACME]);
    dpi = await startInterceptor(site.port);
  });
  after(async () => {
    await dpi?.close();
    await sb.cleanup();
  });

  const json = (stdout: string): CheckJson => JSON.parse(stdout) as CheckJson;
  const result = (report: CheckJson, name: string): string | undefined => report.checks.find((c) => c.name === name)?.result;

  test("a working server: every check passes, as a table and as JSON, exit 0", async () => {
    const table = await site.cli("tech", ["check", "--server", site.url, "--ca", site.ca]);
    assertExit(table, 0);
    assert.match(table.stdout, /^fernlink check https:\/\/127\.0\.0\.1:\d+\n/);
    for (const name of ["dns", "tcp", "tls", "alpn", "websocket", "time"]) assert.match(table.stdout, new RegExp(`^  ${name} +passed `, "m"));
    assert.match(table.stdout, /^ {2}proxy +skipped +none: direct$/m);
    assert.match(table.stdout, /all passed/);
    const r = await site.cli("tech", ["check", "--server", site.url, "--ca", site.ca, "--json"]);
    assertExit(r, 0);
    const report = json(r.stdout);
    assert.equal(report.passed, true);
    assert.deepEqual(
      report.checks.map((c) => c.name),
      ["dns", "proxy", "tcp", "tls", "websocket", "alpn", "time"],
    );
    assert.match(report.checks.find((c) => c.name === "tls")!.detail, /^chain signed by CN=Fernlink CA \w+ \(the CA given\)$/);
  });

  test("a closed port: TCP blocked, the rest not run, and what to open; exit 1 with one line", async () => {
    const port = await closedPort();
    const r = await site.cli("tech", ["check", "--server", `https://127.0.0.1:${port}`, "--ca", site.ca]);
    assertExit(r, 1, new RegExp(`^fernlink: https://127\\.0\\.0\\.1:${port} cannot be reached from here: tcp blocked`));
    assert.match(r.stdout, /^ {2}tcp +blocked +127\.0\.0\.1:\d+: ECONNREFUSED$/m);
    assert.match(r.stdout, new RegExp(`^  tcp: outbound TCP to 127\\.0\\.0\\.1:${port} in the firewall$`, "m"));
    const report = json((await site.cli("tech", ["check", "--server", `https://127.0.0.1:${port}`, "--ca", site.ca, "--json"])).stdout);
    assert.equal(report.passed, false);
    assert.deepEqual(
      ["tls", "alpn", "websocket", "time"].map((n) => result(report, n)),
      ["skipped", "skipped", "skipped", "skipped"],
    );
  });

  test("TLS interception: the chain is blocked, the inspection CA named, an exception asked for", async () => {
    const r = await site.cli("tech", ["check", "--server", `https://127.0.0.1:${dpi.port}`, "--ca", site.ca, "--json"]);
    assertExit(r, 1, /cannot be reached from here: tls, alpn blocked/);
    const report = json(r.stdout);
    const tls = report.checks.find((c) => c.name === "tls")!;
    assert.equal(tls.result, "blocked");
    assert.match(tls.detail, new RegExp(`issued by "[^"]*CN=${INSPECTION_CA.CN}`));
    assert.equal(tls.fix, "an exception from TLS inspection for 127.0.0.1 (or the right --ca)");
    assert.equal(result(report, "tcp"), "passed");
  });

  test("the agent that cannot connect logs the checklist once", async () => {
    await site.login(ACME);
    const key = await site.addDevice(ACME.user, "press-7");
    const state = await site.register(key, "agent");
    await site.server.stop();
    const agent = sb.start(["agent", "run", "--state", state], { home: site.home("agent") });
    await waitUntil("the agent's network check", async () => (agent.stderr.includes("network check done") ? true : undefined), 20_000);
    assert.match(agent.stderr, /warn agent: network check check=tcp result=blocked .*ask="outbound TCP to 127\.0\.0\.1:\d+ in the firewall"/);
    // More failed attempts, still one checklist.
    await waitUntil("a few more attempts", async () => ((agent.stderr.match(/cannot connect/g)?.length ?? 0) >= 3 ? true : undefined), 20_000);
    assert.equal(agent.stderr.match(/network check done/g)?.length, 1);
    await agent.stop();
  });
});
