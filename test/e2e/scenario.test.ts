import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type AuditJson, type Connection, Site } from "./helpers/fernlink.js";
import { Sandbox, waitUntil } from "./helpers/processes.js";
import { ModbusClient, type ModbusSlave, startHttpServer, startModbusSlave } from "./helpers/targets.js";

/**
 * The README scenario with real processes: server, login, device add, agent register and
 * run, then a real Modbus TCP slave through --forward and a real HTTP server through SOCKS5
 * (with curl), and the audit of both streams.
 */

const ACME = { account: "acme", user: "alice" };
const PAGE = "hello from the HMI of press-7\n";

let sb: Sandbox;
let site: Site;
let slave: ModbusSlave;
let web: Awaited<ReturnType<typeof startHttpServer>>;
let stateDir: string;
let conn: Connection;
/** Modbus/TCP bytes on the wire, counted from the frames sent: MBAP (7) + PDU. */
const modbusBytes = { up: 0, down: 0 };
let curlBytes: { up: number; down: number };

before(async () => {
  sb = await Sandbox.create("scenario");
  slave = await startModbusSlave([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  sb.defer(slave.close);
  web = await startHttpServer(PAGE);
  sb.defer(web.close);
});

after(() => sb?.cleanup());

async function mode(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8);
}

test("the server starts on a free loopback port and prints its ready line", async () => {
  site = await Site.start(sb, [ACME]);
  assert.match(site.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(site.port, 0);
});

test("alice logs in with the server's CA and her session file is private", async () => {
  await site.login(ACME);
  assert.equal(await mode(join(site.home("alice"), "session.json")), "600");
  const who = JSON.parse(await site.ok("alice", ["whoami", "--json"])) as { account: string; user: string; role: string };
  assert.deepEqual([who.account, who.user, who.role], ["acme", "alice", "admin"]);
});

test("the agent registers press-7 with its activation key and keeps its private key in a 0600 file", async () => {
  const key = await site.addDevice("alice", "press-7", ["127.0.0.0/8"]);
  assert.match(key, /^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/);
  const listed = (await site.devices("alice")).find((d) => d.name === "press-7");
  assert.equal(listed?.online, false);
  stateDir = await site.register(key, "agent-press-7");
  assert.equal(await mode(join(stateDir, "device-key.pem")), "600");
});

test("the running agent shows the device online in device list --json", async () => {
  await site.startAgent(stateDir);
  const devices = await site.devices("alice");
  assert.equal(devices.length, 1);
  const d = devices[0]!;
  assert.equal(d.name, "press-7");
  assert.equal(d.online, true);
  assert.deepEqual(d.lan, ["127.0.0.0/8"]);
  assert.ok(d.relay, "an online device names its relay");
  assert.ok(d.lastSeen && !Number.isNaN(Date.parse(d.lastSeen)), `lastSeen is an ISO time: ${d.lastSeen}`);
});

test("a Modbus TCP master reads and writes holding registers of a real slave through --forward", async () => {
  conn = await site.connect("alice", "press-7", [`127.0.0.1:${slave.port}`], true);
  const client = new ModbusClient();
  await client.connectTCP("127.0.0.1", { port: conn.forwards[0]! });
  client.setID(1);
  client.setTimeout(5_000);
  try {
    const read = await client.readHoldingRegisters(0, 10);
    assert.deepEqual(read.data, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    modbusBytes.up += 12;
    modbusBytes.down += 9 + 2 * 10;

    await client.writeRegisters(2, [4711, 815]);
    modbusBytes.up += 13 + 2 * 2;
    modbusBytes.down += 12;
    await client.writeRegister(9, 65535);
    modbusBytes.up += 12;
    modbusBytes.down += 12;
    assert.deepEqual(slave.registers, [100, 101, 4711, 815, 104, 105, 106, 107, 108, 65535], "the writes landed in the slave");

    const again = await client.readHoldingRegisters(2, 2);
    assert.deepEqual(again.data, [4711, 815]);
    modbusBytes.up += 12;
    modbusBytes.down += 9 + 2 * 2;
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
});

test("curl fetches a page from a real HTTP server through the SOCKS5 proxy, with localhost resolved on the device side", async () => {
  assert.ok(conn.socks, "connect printed its socks5 line");
  // Without proxy variables: a NO_PROXY=localhost would make curl bypass the proxy.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$/i.test(k)));
  const url = `http://localhost:${web.port}/status`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      "curl",
      [
        "--silent",
        "--show-error",
        "--max-time",
        "15",
        "--socks5-hostname",
        `127.0.0.1:${conn.socks}`,
        "--write-out",
        "\n%{size_request} %{size_header} %{size_download}",
        url,
      ],
      { env },
      (err, stdout, stderr) => (err ? reject(new Error(`curl failed: ${stderr || err.message}`)) : resolve(stdout)),
    ),
  );
  const [page, sizes] = [out.slice(0, out.lastIndexOf("\n")), out.slice(out.lastIndexOf("\n") + 1)];
  assert.equal(page, PAGE);
  assert.deepEqual(web.requests, [{ method: "GET", url: "/status", host: `localhost:${web.port}` }]);
  const [request, header, body] = sizes.split(" ").map(Number) as [number, number, number];
  curlBytes = { up: request, down: header + body };
});

test("the audit has both streams with actor, target, byte counts and end time", async () => {
  // Ending the connect process closes its streams; the relay then completes the records.
  const stopped = await conn.proc.stop("SIGTERM");
  assert.equal(stopped.code, 0, stopped.stderr);
  const modbusTarget = `127.0.0.1:${slave.port}`;
  const webTarget = `localhost:${web.port}`;
  const records = await waitUntil(
    "both stream records have ended",
    async () => {
      const all = await site.audit("alice");
      const streams = all.filter((r) => r.action === "stream" && (r.target === modbusTarget || r.target === webTarget));
      return streams.length === 2 && streams.every((r) => r.endedAt) ? all : undefined;
    },
    10_000,
    300,
  );
  const stream = (target: string): AuditJson => records.find((r) => r.action === "stream" && r.target === target)!;
  for (const [target, bytes] of [
    [modbusTarget, modbusBytes],
    [webTarget, curlBytes],
  ] as const) {
    const r = stream(target);
    assert.equal(r.actor, "alice");
    assert.equal(r.device, "press-7");
    assert.equal(r.result, "ok");
    assert.ok(Date.parse(r.endedAt!) >= Date.parse(r.at), `ends after it starts: ${r.at} .. ${r.endedAt}`);
    assert.deepEqual({ up: r.bytesUp, down: r.bytesDown }, bytes, `bytes of the stream to ${target}`);
  }
  const actions = new Set(records.map((r) => r.action));
  for (const action of ["login", "device.add", "device.register", "tunnel.up"]) assert.ok(actions.has(action), `audit has a ${action} record`);
});
