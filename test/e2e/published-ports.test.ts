import assert from "node:assert/strict";
import net, { type AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { Site } from "./helpers/fernlink.js";
import { assertExit, type Proc, Sandbox, waitUntil } from "./helpers/processes.js";
import { ModbusClient, type ModbusSlave, startModbusSlave } from "./helpers/targets.js";

/**
 * Published ports (forward jobs) with real processes: a Modbus TCP master reaches a real slave
 * in the device's "LAN" through a port the server publishes, a source outside the whitelist
 * (a second loopback address) is refused before any stream opens, and pause, resume, remove
 * and the data log work as `fernlink publish` promises.
 */

const ACME = { account: "acme", user: "alice" };

interface PortJson {
  name: string;
  state: string;
  listening: boolean;
  accepted: number;
  refused: number;
  errors: number;
  connections: { id: string; source: string; bytesUp: number; bytesDown: number }[];
}

let sb: Sandbox;
let site: Site;
let slave: ModbusSlave;
/** Free ports for the jobs, and one another program (this test) holds. */
let ports: { a: number; b: number; held: number; outside: number };
let holder: net.Server;
let agent: Proc;
let stateDir: string;

async function freePort(): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

before(async () => {
  sb = await Sandbox.create("published-ports");
  slave = await startModbusSlave([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  sb.defer(slave.close);
  const servers = [await freePort(), await freePort(), await freePort()];
  const [a, b, held] = servers.map((s) => (s.address() as AddressInfo).port) as [number, number, number];
  holder = servers[2]!;
  sb.defer(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  for (const s of servers.slice(0, 2)) await new Promise((resolve) => s.close(resolve));
  const low = Math.min(a, b, held);
  const high = Math.max(a, b, held);
  ports = { a, b, held, outside: high < 65535 ? high + 1 : low - 1 };
  site = await Site.start(sb, [ACME], { serverArgs: ["--publish-ports", `${low}-${high}`] });
  await site.login(ACME);
  const key = await site.addDevice("alice", "press-7", ["127.0.0.0/8"]);
  stateDir = await site.register(key, "agent-press-7");
  agent = await site.startAgent(stateDir);
});

after(() => sb?.cleanup());

async function listPorts(): Promise<PortJson[]> {
  return (JSON.parse(await site.ok("alice", ["publish", "list", "--json"])) as { ports: PortJson[] }).ports;
}

async function modbusClient(port: number): Promise<InstanceType<typeof ModbusClient>> {
  const client = new ModbusClient();
  await client.connectTCP("127.0.0.1", { port });
  client.setID(1);
  client.setTimeout(5_000);
  return client;
}

/** Closes a master; one whose socket already closed is left as it is (its close callback would never run). */
const closeClient = (client: InstanceType<typeof ModbusClient>) =>
  client.isOpen ? new Promise<void>((resolve) => client.close(() => resolve())) : Promise.resolve();

/** Connects from `localAddress` and reports how the connection ended: refused, reset/closed without data, or open. */
function probe(port: number, localAddress = "127.0.0.1"): Promise<"refused" | "closed" | "open"> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve("open");
    }, 1500);
    socket.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === "ECONNREFUSED" ? "refused" : "closed");
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve("closed");
    });
  });
}

test("publish prints where the port listens, and the list shows it active with its whitelist", async () => {
  const out = await site.ok("alice", [
    "publish",
    "press-7",
    "--port",
    String(ports.a),
    "--target",
    `127.0.0.1:${slave.port}`,
    "--allow-from",
    "127.0.0.1/32",
    "--name",
    "plc",
    "--log-data",
  ]);
  assert.equal(out, `published 127.0.0.1:${ports.a} -> 127.0.0.1:${slave.port} via press-7\n`);
  const [plc] = await listPorts();
  assert.deepEqual([plc?.name, plc?.state, plc?.listening], ["plc", "active", true]);
  const table = await site.ok("alice", ["publish", "list"]);
  assert.match(table, new RegExp(`plc\\s+press-7\\s+127\\.0\\.0\\.1:${ports.a}\\s+127\\.0\\.0\\.1:${slave.port}\\s+127\\.0\\.0\\.1/32\\s+active`));
});

test("a port outside the range, a port taken by a job or by another program, an unknown device and a bad CIDR are one clear line each", async () => {
  const target = `127.0.0.1:${slave.port}`;
  const publish = (port: number, extra: string[] = [], device = "press-7") =>
    site.cli("alice", ["publish", device, "--port", String(port), "--target", target, ...extra]);
  assertExit(await publish(ports.outside), 1, /outside the ports this server may publish \(\d+-\d+\)/);
  assertExit(await publish(ports.a), 1, /port \d+ is already published as "plc"/);
  assertExit(await publish(ports.held), 1, /port \d+ is in use on 127\.0\.0\.1 by another program/);
  assertExit(await publish(ports.b, [], "no-such-press"), 1, /no such device "no-such-press"/);
  assertExit(await publish(ports.b, ["--allow-from", "10.0.0.0/33"]), 2, /--allow-from .*bad prefix length/);
  assert.deepEqual(
    (await listPorts()).map((p) => p.name),
    ["plc"],
    "no refused job was kept",
  );
});

test("a Modbus master reads and writes the slave through the published port; the live table shows the connection with its bytes", async () => {
  const client = await modbusClient(ports.a);
  try {
    assert.deepEqual((await client.readHoldingRegisters(0, 10)).data, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
    await client.writeRegister(3, 4711);
    assert.equal(slave.registers[3], 4711);
    const [plc] = await listPorts();
    assert.equal(plc?.connections.length, 1);
    const c = plc!.connections[0]!;
    assert.equal(c.source, "127.0.0.1");
    // Read request 12 B + write 12 B up; read answer 9 + 20 B + write echo 12 B down.
    assert.deepEqual([c.bytesUp, c.bytesDown], [24, 41]);
    const text = await site.ok("alice", ["publish", "list", "--connections"]);
    assert.match(text, new RegExp(`${c.id}\\s+plc\\s+127\\.0\\.0\\.1\\s+127\\.0\\.0\\.1:${slave.port}\\s+\\S+\\s+24\\s+41`));
    const live = await site.ok("alice", ["live"]);
    assert.match(live, new RegExp(`${c.id}\\s+alice\\s+press-7`), "the stream is listed like any other, under the job's owner");
  } finally {
    await closeClient(client);
  }
});

test("the data log holds the Modbus frames sent each way, as hex", async () => {
  const log = await site.ok("alice", ["publish", "log", "plc"]);
  const lines = log.trimEnd().split("\n");
  assert.match(lines[0]!, /^# data log of plc/);
  // Read holding registers: MBAP (transaction, protocol 0, length 6, unit 1), function 3, address 0, count 10.
  assert.ok(
    lines.some((l) => / #1 up 12 [0-9a-f]{4}0000000601030000000a$/.test(l)),
    log,
  );
  // Its answer: length 23, unit 1, function 3, 20 bytes: 100, 101, 102, …
  assert.ok(
    lines.some((l) => / #1 down 29 [0-9a-f]{4}00000017010314006400650066/.test(l)),
    log,
  );
});

test("a source outside the whitelist is closed before any stream opens, and counted", async () => {
  assert.equal(await probe(ports.a, "127.0.0.2"), "closed");
  const [plc] = await listPorts();
  assert.equal(plc?.refused, 1);
  assert.equal(plc?.accepted, 1);
  const records = JSON.parse(await site.ok("alice", ["audit", "--json", "--limit", "200"])) as { source: string | null }[];
  assert.deepEqual(
    records.filter((r) => r.source === "127.0.0.2"),
    [],
    "no stream was opened or refused for that source",
  );
});

test("pause stops listening and keeps open connections; resume listens again", async () => {
  const client = await modbusClient(ports.a);
  try {
    assert.match(await site.ok("alice", ["publish", "pause", "plc"]), /^published port "plc" paused/);
    assert.equal(await probe(ports.a), "refused");
    assert.deepEqual((await client.readHoldingRegisters(0, 1)).data, [100], "the open connection still carries");
    const [paused] = await listPorts();
    assert.deepEqual([paused?.state, paused?.listening], ["paused", false]);
  } finally {
    await closeClient(client);
  }
  assert.match(await site.ok("alice", ["publish", "resume", "plc"]), /^published port "plc" resumed/);
  const again = await modbusClient(ports.a);
  try {
    assert.deepEqual((await again.readHoldingRegisters(0, 1)).data, [100]);
  } finally {
    await closeClient(again);
  }
});

test("remove cuts the open data connections and frees the port", async () => {
  const client = await modbusClient(ports.a);
  await client.readHoldingRegisters(0, 1);
  assert.equal(await site.ok("alice", ["publish", "remove", "plc"]), 'published port "plc" removed\n');
  await waitUntil("the data connection is cut", async () => (client.isOpen ? undefined : true), 5_000);
  await closeClient(client);
  assert.equal(await probe(ports.a), "refused");
  assert.deepEqual(await listPorts(), []);
  const actions = (await site.audit("alice")).map((r) => r.action);
  for (const a of ["publish.add", "publish.pause", "publish.resume", "publish.log", "publish.remove"]) assert.ok(actions.includes(a), a);
});

test("an agent's own published port is refused until an admin allows the device, then forwards like any other", async () => {
  await agent.stop();
  const spec = `${ports.b}:127.0.0.1:${slave.port},allow-from=127.0.0.1/32`;
  const start = async (): Promise<Proc> => {
    const proc = sb.start(["agent", "run", "--state", stateDir, "--publish", spec], { home: site.home("agent") });
    await proc.waitForLine(/^fernlink agent online: device "press-7" via \S+$/);
    return proc;
  };
  agent = await start();
  await waitUntil("the refusal is logged", async () => (/published ports refused by the service/.test(agent.stderr) ? true : undefined), 10_000);
  assert.match(agent.stderr, /may not publish ports from its agent; an account admin allows it with: fernlink device agent-publish press-7 allow/);
  assert.equal(await probe(ports.b), "refused");

  assert.match(await site.ok("alice", ["device", "agent-publish", "press-7", "allow"]), /may now publish ports/);
  await agent.stop();
  agent = await start();
  await waitUntil("the job is published", async () => (/info agent: published port address=127\.0\.0\.1:\d+/.test(agent.stderr) ? true : undefined), 10_000);
  const [job] = await listPorts();
  assert.deepEqual([job?.name, job?.state, job?.listening], [`press-7-agent-${ports.b}`, "active", true]);
  const client = await modbusClient(ports.b);
  try {
    assert.deepEqual((await client.readHoldingRegisters(0, 2)).data, [100, 101]);
  } finally {
    await closeClient(client);
  }
  assert.equal(await probe(ports.b, "127.0.0.2"), "closed", "its whitelist holds");
});
