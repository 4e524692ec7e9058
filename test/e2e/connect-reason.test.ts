import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import https from "node:https";
import { after, before, describe, test } from "node:test";
import type { AuditRecord } from "../../src/protocol/api.js";
import type { ConnectionRecord } from "../../src/protocol/api-audit.js";
import type { RecordingInfo } from "../../src/protocol/api-recordings.js";
import { rawStream, Site } from "./helpers/fernlink.js";
import { addWebTarget } from "./helpers/portal.js";
import { assertExit, PASSWORD, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { echoOnce, startEchoServer, startHttpServer, type Target } from "./helpers/targets.js";

/**
 * Connect reasons and recorded targets through real processes (one server on SQLite, one agent,
 * a TCP echo target): with `account policy --require-reason`, `connect` without a reason is one
 * line saying how to give one and the relay refuses a stream that comes without, while a given
 * reason reaches the audit and the connection report, from the portal's HMI as from `connect`; a
 * recorded target's bytes are kept and an admin, not a member, lists and downloads them.
 */

const ACME = { account: "acme", user: "alice" };

describe("connect reasons and recorded targets", () => {
  let sb: Sandbox;
  let site: Site;
  let echo: Target;

  /** One HTTPS request for host name `host` (SNI and Host), as a browser resolving that name to the server would send it. */
  function request(host: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
    return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: "127.0.0.1",
          port: site.port,
          servername: host,
          ca,
          method: options.method ?? "GET",
          path,
          headers: { host: `${host}:${site.port}`, ...options.headers },
          agent: false,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on("error", reject);
      req.end(options.body);
    });
  }
  let ca: string;

  const audit = async (): Promise<AuditRecord[]> => (await site.audit("alice", 100)) as unknown as AuditRecord[];

  /** `connect press-7 --forward 0:echo` with `extra` flags and environment, once it listens. */
  async function connectEcho(extra: string[], env: Record<string, string> = {}): Promise<{ proc: Proc; port: number }> {
    const proc = sb.start(["connect", "press-7", "--forward", `0:127.0.0.1:${echo.port}`, ...extra], { home: site.home("alice"), env });
    const [, port] = await proc.waitForLine(/^forwarding 127\.0\.0\.1:(\d+) -> /);
    return { proc, port: Number(port) };
  }

  before(async () => {
    sb = await Sandbox.create("connect-reason");
    site = await Site.start(sb, [ACME]);
    echo = await startEchoServer();
    sb.defer(() => echo.close());
    await site.login(ACME);
    await site.startAgent(await site.register(await site.addDevice("alice", "press-7", ["127.0.0.0/8"]), "agent-state"));
    await site.apiOk("alice", "POST", "/api/v1/users", { name: "carol", role: "member", password: PASSWORD });
    ca = await readFile(site.ca, "utf8");
    assertExit(await site.cli("carol", ["login", "--server", site.url, "--ca", site.ca, "--account", "acme", "--user", "carol"]), 0);
  });
  after(() => sb.cleanup());

  test("with the policy on, connect without a reason is one line saying how to give one, and the relay refuses a stream without", async () => {
    assert.match(await site.ok("alice", ["account", "policy", "--require-reason"]), /^require-reason\s+yes$/m);
    const r = await site.cli("alice", ["connect", "press-7", "--forward", `0:127.0.0.1:${echo.port}`]);
    assertExit(r, 2, /^fernlink: your account requires a reason for every connection; give one with --reason TEXT or FERNLINK_REASON/);
    assert.equal(r.stdout, "");
    assertExit(
      await site.cli("alice", ["connect", "press-7", "--forward", `0:127.0.0.1:${echo.port}`, "--reason", "x".repeat(201)]),
      2,
      /--reason: .*longer than 200/,
    );
    // A client that skips the CLI's check meets the relay's.
    const raw = await rawStream(site, "alice", "press-7", `127.0.0.1:${echo.port}`);
    assert.deepEqual([raw.status, raw.error], [403, "reason-required"]);
    const refused = await waitUntil("the refused stream's record", async () => (await audit()).find((a) => a.action === "stream" && a.result === "denied"));
    assert.match(refused.reason ?? "", /^reason-required: your account requires a reason/);
  });

  test("a given reason opens the stream and is kept in its audit records and the connection report", async () => {
    const reason = "Ticket 4711: Rezept laden";
    const conn = await connectEcho(["--reason", reason]);
    assert.equal(await echoOnce(conn.port), "ping\n");
    // Stopped only once the stream has ended by itself: a stop while its close is still on the
    // way cuts it, and the record then also says "ended abnormally".
    const closed = await waitUntil("the stream's closing record", async () => (await audit()).find((a) => a.action === "stream" && a.result === "ok"));
    await conn.proc.stop("SIGTERM");
    assert.equal(closed.reason, `reason ${JSON.stringify(reason)}`);
    assert.ok((await audit()).some((a) => a.action === "stream.open" && a.reason === `reason ${JSON.stringify(reason)}`));
    const [row] = JSON.parse(await site.ok("alice", ["report", "connections", "--json"])) as ConnectionRecord[];
    assert.deepEqual([row?.reason, row?.note, row?.target], [reason, null, `127.0.0.1:${echo.port}`]);
    assert.match(await site.ok("alice", ["report", "connections", "--csv"]), /^user,.*,bytes_down,reason,note\r\n.*,Ticket 4711: Rezept laden,\r\n/);
    assert.match(await site.ok("alice", ["report", "connections"]), /\bREASON\b.*\n.*Ticket 4711: Rezept laden/);
  });

  test("the portal opens an HMI only with a reason, and its page's streams carry it", async () => {
    const page = await startHttpServer("hmi page");
    sb.defer(() => page.close());
    const target = await addWebTarget(site, "alice", "press-7", "HMI", `http://127.0.0.1:${page.port}/`);
    const login = await request("localhost", "/api/v1/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...ACME, password: PASSWORD }),
    });
    assert.equal(login.status, 200, login.body);
    const cookie = `__Host-fernlink=${(JSON.parse(login.body) as { token: string }).token}`;
    const without = await request("localhost", `/web/open/${target.id}`, { headers: { cookie } });
    assert.equal(without.status, 403);
    assert.match(
      without.body,
      /requires a reason for every connection; type one in the reason field on the device&#39;s page|requires a reason for every connection; type one in the reason field on the device's page/,
    );
    const open = await request("localhost", `/web/open/${target.id}?reason=${encodeURIComponent("HMI check, ticket 9")}`, { headers: { cookie } });
    assert.equal(open.status, 302, open.body);
    const launch = new URL(String(open.headers.location));
    const signedIn = await request(launch.hostname, `${launch.pathname}${launch.search}`);
    assert.equal(signedIn.status, 302, signedIn.body);
    const grant = String(signedIn.headers["set-cookie"]?.[0] ?? "").split(";")[0]!;
    const hmi = await request(launch.hostname, "/", { headers: { cookie: grant } });
    assert.deepEqual([hmi.status, hmi.body], [200, "hmi page"]);
    await waitUntil("the HMI stream's record with its reason", async () =>
      (await audit()).find((a) => a.action === "stream.open" && a.reason === 'reason "HMI check, ticket 9"'),
    );
  });

  test("a recorded target's bytes are kept each way; an admin lists and downloads them, a member may not", async () => {
    const target = `127.0.0.1:${echo.port}`;
    assertExit(await site.cli("carol", ["device", "record", "press-7", target, "on"]), 1, /only an account admin/);
    assert.equal(
      await site.ok("alice", ["device", "record", "press-7", target, "on"]),
      `recorded targets of "press-7": ${target}; users are told when they connect to one\n`,
    );
    const conn = await connectEcho([], { FERNLINK_REASON: "INC-42" });
    const payload = "recorded payload\n";
    assert.equal(await echoOnce(conn.port, payload), payload);
    assert.equal(await echoOnce(conn.port, payload), payload);
    const stopped = await conn.proc.stop("SIGTERM");
    // Told once, however many streams.
    assert.equal(stopped.stderr.match(/^recorded: streams to 127\.0\.0\.1:\d+ via press-7 are recorded; /gm)?.length, 1, stopped.stderr);

    const list = await waitUntil("two ended recordings", async () => {
      // Polled through GET /api/v1/recordings (what `recording list --json` prints), read with the CLI below.
      const rows = (await site.apiOk("alice", "GET", "/api/v1/recordings")) as RecordingInfo[];
      return rows.length === 2 && rows.every((r) => r.end !== null) ? rows : undefined;
    });
    assert.deepEqual(
      list.map((r) => [r.user, r.device, r.target, r.bytes, r.dropped]),
      [
        ["alice", "press-7", target, 2 * payload.length, 0],
        ["alice", "press-7", target, 2 * payload.length, 0],
      ],
    );
    const file = sb.path("session.log");
    assert.equal(await site.ok("alice", ["recording", "get", list[0]!.id, file]), "");
    const text = await readFile(file, "utf8");
    const hex = Buffer.from(payload).toString("hex");
    assert.match(text, new RegExp(`^\\S+ #1 up ${payload.length} ${hex}$`, "m"));
    assert.match(text, new RegExp(`^\\S+ #1 down ${payload.length} ${hex}$`, "m"));
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    assertExit(await site.cli("carol", ["recording", "list"]), 1, /only an account admin/);
    assertExit(await site.cli("carol", ["recording", "get", list[0]!.id, "-"]), 1, /only an account admin/);
    assertExit(await site.cli("alice", ["recording", "get", "not-an-id", "-"]), 2, /"not-an-id" is not a recording id/);

    const records = await audit();
    assert.ok(records.some((a) => a.action === "device.record" && a.actor === "alice" && a.result === "ok"));
    assert.ok(records.some((a) => a.action === "recording.get" && a.actor === "alice" && a.object === list[0]!.id));
    assert.ok(records.some((a) => a.action === "recording.list" && a.actor === "carol" && a.result === "denied"));
    assert.ok(records.some((a) => a.action === "stream" && a.result === "ok" && a.reason === `reason "INC-42"; bytes recorded`));

    // Off again: the next stream is not recorded.
    await site.ok("alice", ["device", "record", "press-7", target, "off"]);
    const again = await connectEcho([], { FERNLINK_REASON: "INC-43" });
    assert.equal(await echoOnce(again.port), "ping\n");
    assert.doesNotMatch((await again.proc.stop("SIGTERM")).stderr, /^recorded:/m);
    assert.equal((JSON.parse(await site.ok("alice", ["recording", "list", "--json"])) as RecordingInfo[]).length, 2);
  });
});
