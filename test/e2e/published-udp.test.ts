import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { after, before, test } from "node:test";
import { freeUdpPort } from "../../src/shared/free-ports-test-kit.js";
import { dig as digShort, startDnsmasq } from "./helpers/dnsmasq.js";
import { type AuditJson, Site } from "./helpers/fernlink.js";
import { type Proc, Sandbox, waitUntil } from "./helpers/processes.js";

/**
 * A published UDP port with real processes: dig reaches a private dnsmasq in the device's
 * "LAN" through a port the server publishes with --udp, a source outside the whitelist (a
 * second loopback address) gets no answer and opens no stream, pause and remove stop the
 * port as for TCP, and an agent allowed to may ask for a UDP port itself (`--publish …,udp`).
 */

const ACME = { account: "acme", user: "alice" };

interface PortJson {
  name: string;
  target: string;
  protocol: string;
  state: string;
  listening: boolean;
  accepted: number;
  refused: number;
  connections: { source: string; bytesUp: number; bytesDown: number }[];
}

let sb: Sandbox;
let site: Site;
let dnsPort = 0;
let published = 0;
let agent: Proc;
let stateDir: string;

/** dig's short answer through `port`, sent from `from`; "" when nothing answered in 2 s. */
function dig(port: number, name: string, from = "127.0.0.1"): Promise<string> {
  return digShort(port, name, { from });
}

before(async () => {
  sb = await Sandbox.create("published-udp");
  dnsPort = await startDnsmasq(sb);
  published = await freeUdpPort();
  site = await Site.start(sb, [ACME], { serverArgs: ["--publish-ports", String(published)] });
  await site.login(ACME);
  stateDir = await site.register(await site.addDevice("alice", "press-7", ["127.0.0.0/8"]), "agent");
  agent = await site.startAgent(stateDir);
});

after(() => sb?.cleanup());

async function listPorts(): Promise<PortJson[]> {
  return (JSON.parse(await site.ok("alice", ["publish", "list", "--json"])) as { ports: PortJson[] }).ports;
}

test("publish --udp prints the target as host:port/udp, and the list shows the protocol", async () => {
  const out = await site.ok("alice", [
    "publish",
    "press-7",
    "--udp",
    "--port",
    String(published),
    "--target",
    `127.0.0.1:${dnsPort}`,
    "--allow-from",
    "127.0.0.1",
    "--name",
    "dns",
  ]);
  assert.equal(out, `published 127.0.0.1:${published} -> 127.0.0.1:${dnsPort}/udp via press-7\n`);
  const [dns] = await listPorts();
  assert.deepEqual([dns?.name, dns?.protocol, dns?.target, dns?.state, dns?.listening], ["dns", "udp", `127.0.0.1:${dnsPort}/udp`, "active", true]);
  assert.match(
    await site.ok("alice", ["publish", "list"]),
    new RegExp(`dns\\s+press-7\\s+127\\.0\\.0\\.1:${published}\\s+127\\.0\\.0\\.1:${dnsPort}/udp\\s+127\\.0\\.0\\.1/32\\s+active`),
  );
});

test("dig gets dnsmasq's answer through the published UDP port; the stream is listed and audited as UDP under the job's owner", async () => {
  assert.equal(await dig(published, "plc.example"), "10.1.2.3");
  const [dns] = await listPorts();
  assert.equal(dns?.accepted, 1);
  assert.equal(dns?.connections.length, 1, "the source's mapping is a data connection while it lives");
  assert.equal(dns?.connections[0]?.source, "127.0.0.1");
  const opened = await waitUntil("the audit records the UDP stream", async () =>
    (await site.audit("alice")).find((r: AuditJson) => r.action === "stream.open" && r.target === `127.0.0.1:${dnsPort}/udp`),
  );
  assert.deepEqual([opened.actor, opened.device], ["alice", "press-7"]);
});

test("a source outside the whitelist gets no answer, opens no stream, and is counted", async () => {
  const streamsBefore = (await site.audit("alice")).filter((r) => r.action === "stream.open").length;
  assert.equal(await dig(published, "plc.example", "127.0.0.2"), "");
  const [dns] = await listPorts();
  assert.ok((dns?.refused ?? 0) >= 1, `refused ${dns?.refused}`);
  assert.equal(dns?.accepted, 1);
  const records = await site.audit("alice");
  assert.equal(records.filter((r) => r.action === "stream.open").length, streamsBefore, "no stream was opened for that source");
});

test("pause stops the port and resume opens it again; remove frees it", async () => {
  assert.match(await site.ok("alice", ["publish", "pause", "dns"]), /^published port "dns" paused/);
  assert.equal(await dig(published, "plc.example"), "");
  assert.match(await site.ok("alice", ["publish", "resume", "dns"]), /^published port "dns" resumed/);
  assert.equal(await dig(published, "plc.example"), "10.1.2.3");
  assert.equal(await site.ok("alice", ["publish", "remove", "dns"]), 'published port "dns" removed\n');
  assert.deepEqual(await listPorts(), []);
  // The port is free again: this process can bind it.
  const s = createSocket("udp4");
  s.bind(published, "127.0.0.1");
  await once(s, "listening");
  await new Promise<void>((resolve) => s.close(() => resolve()));
});

test("an allowed agent's --publish N:HOST:PORT,udp is a UDP port like any other", async () => {
  assert.match(await site.ok("alice", ["device", "agent-publish", "press-7", "allow"]), /may now publish ports/);
  await agent.stop();
  agent = sb.start(["agent", "run", "--state", stateDir, "--publish", `${published}:127.0.0.1:${dnsPort},udp,allow-from=127.0.0.1`], {
    home: site.home("agent"),
  });
  await waitUntil("the job is published", async () => (/info agent: published port address=127\.0\.0\.1:\d+/.test(agent.stderr) ? true : undefined), 15_000);
  const [job] = await listPorts();
  assert.deepEqual([job?.protocol, job?.target, job?.listening], ["udp", `127.0.0.1:${dnsPort}/udp`, true]);
  assert.equal(await dig(published, "plc.example"), "10.1.2.3");
  assert.equal(await dig(published, "plc.example", "127.0.0.2"), "", "its whitelist holds");
});
