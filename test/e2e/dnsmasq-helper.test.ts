import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { after, before, test } from "node:test";
import { freeUdpPort } from "../../src/shared/free-ports-test-kit.js";
import { DNSMASQ_ANSWER, DNSMASQ_NAME, dig, startDnsmasq } from "./helpers/dnsmasq.js";
import { Sandbox } from "./helpers/processes.js";

/**
 * Self-test of the dnsmasq the UDP tests reach. dnsmasq listens on TCP at its UDP port too, and in a
 * parallel suite a free UDP port can be the local port of some other test's TCP connection: then
 * dnsmasq exits at once, and the UDP tests used to wait 30 s for an answer that could not come.
 */

let sb: Sandbox;
before(async () => {
  sb = await Sandbox.create("dnsmasq-helper");
});
after(() => sb?.cleanup());

test("a port whose TCP side is taken is given up at once for another, and dnsmasq answers there", async () => {
  // A TCP connection whose local port stands for another test's: exactly what blocks dnsmasq.
  const server = net.createServer((s) => s.resume()).listen(0, "127.0.0.1");
  await once(server, "listening");
  const held = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  await once(held, "connect");
  sb.defer(() => {
    held.destroy();
    server.close();
  });

  const offered: number[] = [];
  const started = Date.now();
  const port = await startDnsmasq(sb, async () => {
    const next = offered.length === 0 ? held.localPort! : await freeUdpPort();
    offered.push(next);
    return next;
  });
  assert.equal(offered.length, 2, `ports tried: ${offered.join(", ")}`);
  assert.equal(port, offered[1]);
  assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  assert.equal(await dig(port, DNSMASQ_NAME), DNSMASQ_ANSWER);
});

test("a dnsmasq that cannot start anywhere says why", async () => {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  sb.defer(() => server.close());
  const taken = (server.address() as net.AddressInfo).port;
  await assert.rejects(
    startDnsmasq(sb, async () => taken),
    /dnsmasq did not start:[\s\S]*Address already in use/,
  );
});
