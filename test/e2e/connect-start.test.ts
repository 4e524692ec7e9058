import assert from "node:assert/strict";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { echoVia, Site } from "./helpers/fernlink.js";
import { assertExit, messageLines, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { echoOnce, startEchoServer, type Target } from "./helpers/targets.js";

/**
 * What `fernlink connect` says before and after it listens, through real processes on loopback:
 * local port conflicts and targets outside the user's reach are one line before anything
 * listens; `--wait` waits for an offline device; Ctrl-C lets open connections finish (or cuts
 * them on a second Ctrl-C) and exits 130; a server outage reads "unreachable, retrying" and the
 * forward works again once the server is back.
 */

const ACME = { account: "acme", user: "alice" };

async function waitForStderr(proc: Proc, pattern: RegExp, timeoutMs = 20_000): Promise<true> {
  try {
    return await waitUntil(
      `stderr of fernlink ${proc.args.join(" ")} matches ${pattern}`,
      async () => (pattern.test(proc.stderr) ? true : undefined),
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; its stderr: ${JSON.stringify(proc.stderr.slice(-2000))}`);
  }
}

/** A held TCP connection through a forward that echoes one line at a time. */
async function holdEcho(port: number): Promise<{ socket: net.Socket; echo(text: string): Promise<string> }> {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await once(socket, "connect");
  socket.setEncoding("utf8");
  const echo = async (text: string): Promise<string> => {
    socket.write(text);
    let got = "";
    const closed = once(socket, "close").then(() => {
      throw new Error(`the connection closed before "${text.trim()}" came back`);
    });
    while (got.length < text.length) got += String((await Promise.race([once(socket, "data"), closed]))[0]);
    return got;
  };
  return { socket, echo };
}

describe("connect: checks before listening, waiting, Ctrl-C and outages", () => {
  let sb: Sandbox;
  let site: Site;
  let echo: Target;
  let state: string;

  before(async () => {
    sb = await Sandbox.create("connect-start");
    site = await Site.start(sb, [ACME]);
    echo = await startEchoServer();
    sb.defer(() => echo.close());
    await site.login(ACME);
    state = await site.register(await site.addDevice(ACME.user, "press"), "state-press");
    await site.startAgent(state);
  });
  after(() => sb.cleanup());

  test("two forwards on one local port are a usage error before anything listens", async () => {
    const r = await site.cli(ACME.user, ["connect", "press", "--forward", "15020:127.0.0.1:502", "--forward", "15020:127.0.0.1:503"]);
    assertExit(r, 2, /--forward 15020:127\.0\.0\.1:502 and --forward 15020:127\.0\.0\.1:503 both listen on 127\.0\.0\.1:15020; give each its own local port/);
    assert.equal(r.stdout, "");
  });

  test("a busy SOCKS port is one line, and no forward was announced", async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await site.cli(ACME.user, ["connect", "press", "--forward", `0:127.0.0.1:${echo.port}`, "--socks", String(port)]);
      assertExit(r, 1, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} for --socks: another program already listens there; choose another local port`));
      assert.equal(r.stdout, "");
    } finally {
      busy.close();
    }
  });

  test("--data naming a file is one usage line", async () => {
    const file = sb.path("not-a-dir");
    await writeFile(file, "x");
    const r = await sb.run(["server", "--data", file, "--listen", "127.0.0.1:0"], { home: site.home("server") });
    assertExit(r, 2, /--data ".*not-a-dir" is a file, not a directory/);
  });

  test("a second agent on the same state folder refuses to start with one line", async () => {
    const r = await sb.run(["agent", "run", "--state", state], { home: site.home("agent") });
    assertExit(r, 1, /^fernlink: another agent \(pid \d+\) already runs on state ".*state-press"; stop it first/);
  });

  test("a forward outside what the user may reach is refused when connect starts", async () => {
    const r = await site.cli(ACME.user, ["connect", "press", "--forward", "0:10.9.9.9:502"]);
    assertExit(r, 1, /target 10\.9\.9\.9:502 is outside what you may reach on "press" \(you may reach 127\.0\.0\.0\/8\); ask an account admin/);
    assert.equal(r.stdout, "");
  });

  test("--wait waits for an offline device and forwards once it is online", async () => {
    const later = await site.register(await site.addDevice(ACME.user, "later"), "state-later");
    const conn = sb.start(["connect", "later", "--wait", "--forward", `0:127.0.0.1:${echo.port}`], { home: site.home(ACME.user) });
    await waitForStderr(conn, /device "later" is offline \(it has never connected\); waiting for it to come online/);
    assert.equal(conn.stdout, "");
    const agent = await site.startAgent(later);
    const [, port] = await conn.waitForLine(/^forwarding 127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:\d+ via later$/);
    assert.equal(await echoOnce(Number(port)), "ping\n");
    assert.equal((await conn.stop("SIGINT")).code, 130);
    await agent.stop();
  });

  test("without --wait an offline device is one line", async () => {
    await site.addDevice(ACME.user, "never");
    assertExit(
      await site.cli(ACME.user, ["connect", "never", "--forward", `0:127.0.0.1:${echo.port}`]),
      1,
      /device "never" is offline \(it has never connected\)/,
    );
  });

  test("Ctrl-C lets an open connection finish, then exits 130", async () => {
    const conn = await site.connect(ACME.user, "press", [`127.0.0.1:${echo.port}`]);
    const held = await holdEcho(conn.forwards[0]!);
    assert.equal(await held.echo("one\n"), "one\n");
    conn.proc.child.kill("SIGINT");
    await waitForStderr(conn.proc, /letting 1 open connection\(s\) finish, up to 10 s \(Ctrl-C again to cut them\)/);
    assert.equal(await held.echo("two\n"), "two\n");
    held.socket.end();
    const r = await conn.proc.exited;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(messageLines(r.stderr), []);
  });

  test("a second Ctrl-C cuts the open connections and says so", async () => {
    const conn = await site.connect(ACME.user, "press", [`127.0.0.1:${echo.port}`]);
    const held = await holdEcho(conn.forwards[0]!);
    assert.equal(await held.echo("one\n"), "one\n");
    conn.proc.child.kill("SIGINT");
    await waitForStderr(conn.proc, /letting 1 open connection/);
    // The cut connection ends (FIN) from the connect side.
    const ended = once(held.socket, "end");
    conn.proc.child.kill("SIGINT");
    const r = await conn.proc.exited;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(messageLines(r.stderr), ["fernlink: cut 1 open connection(s) to press"]);
    await ended;
    held.socket.destroy();
  });

  test("a server outage reads 'unreachable, retrying', and the forward works again once it is back", async () => {
    const conn = await site.connect(ACME.user, "press", [`127.0.0.1:${echo.port}`]);
    assert.equal(await echoVia(conn), "ping\n");
    await site.server.stop("SIGTERM");
    // The reason is the first failure the client saw (ECONNREFUSED, most runs); it is said once.
    await waitForStderr(conn.proc, new RegExp(`^fernlink: server ${site.url.replace(/[.]/g, "\\.")} unreachable \\([^)]+\\), retrying$`, "m"));
    assert.doesNotMatch(conn.proc.stderr, /ERR_HTTP2/);
    await site.startServer(`127.0.0.1:${site.port}`);
    await waitForStderr(conn.proc, /^connection to \S+ restored$/m);
    await site.waitForDevice(ACME.user, "press", true, 40_000);
    assert.equal(await echoVia(conn), "ping\n");
    assert.equal(messageLines(conn.proc.stderr).length, 1, conn.proc.stderr);
  });
});
