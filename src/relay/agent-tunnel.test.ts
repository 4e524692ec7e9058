import assert from "node:assert/strict";
import { once } from "node:events";
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, it } from "node:test";
import { type ErrorCode, FernlinkError } from "../protocol/errors.js";
import type { AgentIdentity } from "../protocol/relay-access.js";
import { errorResponseHeaders, HEADER } from "../protocol/stream-headers.js";
import { AgentTunnel } from "./agent-tunnel.js";
import { FLAP_WINDOW_MS, TunnelRegistry } from "./tunnel-registry.js";

type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

/** The agent end of a tunnel: an HTTP/2 server on loopback whose answers each test decides. */
interface FakeAgent {
  /** The relay's view: the HTTP/2 client session over the agent's connection. */
  session: ClientHttp2Session;
  /** The agent's view of the same connection. */
  agentSession: ServerHttp2Session;
  requests: IncomingHttpHeaders[];
  onStream: (handler: StreamHandler) => void;
}

const cleanup: (() => void)[] = [];

async function fakeAgent(): Promise<FakeAgent> {
  const requests: IncomingHttpHeaders[] = [];
  let handler: StreamHandler = (stream) => stream.respond({ ":status": 200 });
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    requests.push(headers);
    handler(stream, headers);
  });
  const sessions: ServerHttp2Session[] = [];
  server.on("session", (s) => {
    s.on("error", () => {});
    sessions.push(s);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  session.on("error", () => {});
  await once(session, "connect");
  while (sessions.length === 0) await new Promise((resolve) => setImmediate(resolve));
  cleanup.push(() => {
    session.destroy();
    for (const s of sessions) s.destroy();
    server.close();
  });
  return { session, agentSession: sessions[0]!, requests, onStream: (h) => (handler = h) };
}

function identity(deviceId: string): AgentIdentity {
  return { deviceId, accountId: "acct-1", deviceName: `press-${deviceId}`, certSerial: `serial-${deviceId}` };
}

async function openTunnel(deviceId = "dev-1", acceptedAt = new Date("2024-01-01T00:00:00Z")): Promise<{ tunnel: AgentTunnel; agent: FakeAgent }> {
  const agent = await fakeAgent();
  return { tunnel: new AgentTunnel(identity(deviceId), "127.0.0.1:1", agent.session, acceptedAt), agent };
}

function hasCode(code: ErrorCode): (err: unknown) => boolean {
  return (err) => err instanceof FernlinkError && err.code === code;
}

const meta = { streamId: "stream-1", user: "alice" };

afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

describe("AgentTunnel.openStream", { timeout: 20_000 }, () => {
  it("resolves with the stream when the agent answers 200, and sends target and metadata", async () => {
    const { tunnel, agent } = await openTunnel();
    agent.onStream((stream) => {
      stream.respond({ ":status": 200 });
      stream.end("from target");
    });
    const stream = await tunnel.openStream({ host: "192.168.1.10", port: 502 }, meta);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), "from target");
    const [headers] = agent.requests;
    assert.equal(headers?.[":method"], "CONNECT");
    assert.equal(headers?.[":authority"], "192.168.1.10:502");
    assert.equal(headers?.[HEADER.streamId], "stream-1");
    assert.equal(headers?.[HEADER.user], "alice");
  });

  it("brackets an IPv6 target in :authority", async () => {
    const { tunnel, agent } = await openTunnel();
    const stream = await tunnel.openStream({ host: "fd00::10", port: 502 }, meta);
    stream.destroy();
    assert.equal(agent.requests[0]?.[":authority"], "[fd00::10]:502");
  });

  const refusals: ErrorCode[] = ["target-refused", "target-not-allowed", "target-unreachable", "target-timeout", "invalid-input", "internal"];
  for (const code of refusals) {
    it(`rejects with the agent's code "${code}" and reason when it answers with an error`, async () => {
      const { tunnel, agent } = await openTunnel();
      agent.onStream((stream) => stream.respond(errorResponseHeaders(new FernlinkError(code, `agent says ${code}`)), { endStream: true }));
      await assert.rejects(tunnel.openStream({ host: "10.0.0.1", port: 502 }, meta), (err: unknown) => {
        return hasCode(code)(err) && (err as Error).message === `agent says ${code}`;
      });
      assert.equal(tunnel.isOpen, true, "a refused stream must not end the tunnel");
    });
  }

  it("rejects with internal when the agent answers an error status without a known code", async () => {
    const { tunnel, agent } = await openTunnel();
    agent.onStream((stream) => stream.respond({ ":status": 500 }, { endStream: true }));
    await assert.rejects(tunnel.openStream({ host: "10.0.0.1", port: 502 }, meta), hasCode("internal"));
  });

  it("rejects with device-offline at once when the session is closed", async () => {
    const { tunnel, agent } = await openTunnel();
    agent.session.destroy();
    await once(agent.session, "close");
    assert.equal(tunnel.isOpen, false);
    await assert.rejects(tunnel.openStream({ host: "10.0.0.1", port: 502 }, meta), hasCode("device-offline"));
    assert.equal(agent.requests.length, 0);
  });

  it("rejects with device-offline when the agent goes away before answering", async () => {
    const { tunnel, agent } = await openTunnel();
    agent.onStream(() => agent.agentSession.destroy());
    await assert.rejects(tunnel.openStream({ host: "10.0.0.1", port: 502 }, meta), hasCode("device-offline"));
  });

  it("rejects with device-offline when the agent resets the stream without answering", async () => {
    const { tunnel, agent } = await openTunnel();
    agent.onStream((stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    await assert.rejects(tunnel.openStream({ host: "10.0.0.1", port: 502 }, meta), hasCode("device-offline"));
    assert.equal(tunnel.isOpen, true);
  });

  it("emits close once when the session ends", async () => {
    const { tunnel, agent } = await openTunnel();
    let closes = 0;
    tunnel.on("close", () => closes++);
    agent.agentSession.destroy();
    await once(tunnel, "close");
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(closes, 1);
    assert.equal(tunnel.isOpen, false);
  });

  it("keeps identity, address and connection time", async () => {
    const { tunnel } = await openTunnel("dev-9");
    assert.deepEqual(tunnel.identity, identity("dev-9"));
    assert.equal(tunnel.address, "127.0.0.1:1");
    assert.equal(tunnel.connectedAt.toISOString(), "2024-01-01T00:00:00.000Z");
  });
});

describe("TunnelRegistry", { timeout: 10_000 }, () => {
  function record(registry: TunnelRegistry): { online: AgentTunnel[]; offline: AgentTunnel[] } {
    const events = { online: [] as AgentTunnel[], offline: [] as AgentTunnel[] };
    registry.on("online", (t) => events.online.push(t));
    registry.on("offline", (t) => events.offline.push(t));
    return events;
  }

  it("emits online when a tunnel is added and offline when it closes", async () => {
    const registry = new TunnelRegistry("relay-test");
    const events = record(registry);
    const { tunnel } = await openTunnel("dev-1");
    registry.add(tunnel);
    assert.deepEqual(events.online, [tunnel]);
    assert.equal(registry.get("dev-1"), tunnel);
    assert.deepEqual(registry.list(), [tunnel]);

    tunnel.destroy();
    await once(tunnel, "close");
    assert.deepEqual(events.offline, [tunnel]);
    assert.equal(registry.get("dev-1"), undefined);
    assert.deepEqual(registry.list(), []);
  });

  it("keeps the tunnel accepted last when an earlier one finishes authenticating after it", async () => {
    const registry = new TunnelRegistry("relay-test");
    const { tunnel: slow } = await openTunnel("dev-1", new Date("2024-01-01T00:00:00Z"));
    const { tunnel: fast } = await openTunnel("dev-1", new Date("2024-01-01T00:00:05Z"));
    assert.equal(registry.add(fast), true);
    const slowClosed = once(slow, "close");
    assert.equal(registry.add(slow), false);
    await slowClosed;
    assert.equal(registry.get("dev-1"), fast);
    fast.destroy();
    await once(fast, "close");
  });

  it("announces a device whose tunnels two agents keep replacing once, and no further online events while it flaps", async () => {
    let now = 0;
    const duplicates: string[][] = [];
    const registry = new TunnelRegistry("relay-test", { now: () => now, onDuplicate: (d) => duplicates.push(d.addresses) });
    const events = record(registry);
    const tunnels: AgentTunnel[] = [];
    for (let i = 0; i < 6; i++) {
      const { tunnel } = await openTunnel("dev-1");
      tunnels.push(tunnel);
      registry.add(tunnel);
      now += 1_000;
    }
    assert.deepEqual(events.online, tunnels.slice(0, 2), "the first swap is a plain reconnect; the later ones are not announced");
    assert.deepEqual(duplicates, [["127.0.0.1:1", "127.0.0.1:1"]]);
    assert.equal(registry.get("dev-1"), tunnels[5]);
    now += FLAP_WINDOW_MS + 1;
    const { tunnel: calm } = await openTunnel("dev-1");
    registry.add(calm);
    assert.equal(events.online.at(-1), calm, "a replacement long after the last one is announced again");
    calm.destroy();
    await once(calm, "close");
  });

  it("forgets a device's swaps once they can no longer mark it flapping or hold back a notice", async () => {
    let now = 0;
    const registry = new TunnelRegistry("relay-test", { now: () => now });
    const swapTwice = async (deviceId: string): Promise<AgentTunnel> => {
      const { tunnel: first } = await openTunnel(deviceId);
      const { tunnel: second } = await openTunnel(deviceId);
      registry.add(first);
      registry.add(second);
      return second;
    };
    const open = [await swapTwice("dev-1"), await swapTwice("dev-2")];
    assert.equal(registry.swapRecords, 2);
    now += FLAP_WINDOW_MS + 1;
    open.push(await swapTwice("dev-3"));
    assert.equal(registry.swapRecords, 1, "dev-1 and dev-2 last swapped more than a flap window ago and were never noticed");
    for (const tunnel of open) {
      tunnel.destroy();
      await once(tunnel, "close");
    }
  });

  it("replaces an older tunnel of the same device without an offline event", async () => {
    const registry = new TunnelRegistry("relay-test");
    const events = record(registry);
    const { tunnel: older } = await openTunnel("dev-1");
    const { tunnel: newer } = await openTunnel("dev-1");
    registry.add(older);
    const olderClosed = once(older, "close");
    registry.add(newer);
    await olderClosed;
    await new Promise((resolve) => setTimeout(resolve, 20));

    assert.equal(older.isOpen, false, "the older tunnel is cut");
    assert.deepEqual(events.online, [older, newer]);
    assert.deepEqual(events.offline, []);
    assert.equal(registry.get("dev-1"), newer);
    assert.deepEqual(registry.list(), [newer]);

    newer.destroy();
    await once(newer, "close");
    assert.deepEqual(events.offline, [newer]);
  });

  it("takes a tunnel whose agent is leaving offline at once, lets its open stream finish, and still closes it on closeAll", async () => {
    const registry = new TunnelRegistry("relay-test");
    const events = record(registry);
    const { tunnel, agent } = await openTunnel("dev-1");
    registry.add(tunnel);
    agent.onStream((stream) => {
      stream.respond({ ":status": 200 });
      stream.pipe(stream);
    });
    const stream = await tunnel.openStream({ host: "10.0.0.1", port: 502 }, meta);
    stream.setEncoding("utf8");
    // The agent moved elsewhere: GOAWAY, its open stream still running.
    agent.agentSession.close();
    await once(agent.session, "goaway");
    assert.deepEqual(events.offline, [tunnel], "a leaving tunnel reads as offline");
    assert.equal(registry.get("dev-1"), undefined);
    assert.deepEqual(registry.list(), []);
    stream.write("still here");
    assert.deepEqual(await once(stream, "data"), ["still here"]);
    registry.closeAll();
    await once(tunnel, "close");
    assert.deepEqual(events.offline, [tunnel], "offline only once");
  });

  it("keeps tunnels of different devices apart", async () => {
    const registry = new TunnelRegistry("relay-test");
    const { tunnel: a } = await openTunnel("dev-a");
    const { tunnel: b } = await openTunnel("dev-b");
    registry.add(a);
    registry.add(b);
    assert.equal(registry.get("dev-a"), a);
    assert.equal(registry.get("dev-b"), b);
    assert.equal(registry.list().length, 2);
    assert.equal(registry.get("dev-c"), undefined);
  });

  it("disconnects one device on request", async () => {
    const registry = new TunnelRegistry("relay-test");
    const events = record(registry);
    const { tunnel: a } = await openTunnel("dev-a");
    const { tunnel: b } = await openTunnel("dev-b");
    registry.add(a);
    registry.add(b);
    assert.equal(registry.disconnect("dev-a"), true);
    await once(a, "close");
    assert.deepEqual(events.offline, [a]);
    assert.equal(registry.get("dev-b"), b);
    assert.equal(registry.disconnect("dev-unknown"), false);
  });

  it("closes every tunnel on closeAll", async () => {
    const registry = new TunnelRegistry("relay-test");
    const events = record(registry);
    const { tunnel: a } = await openTunnel("dev-a");
    const { tunnel: b } = await openTunnel("dev-b");
    registry.add(a);
    registry.add(b);
    registry.closeAll();
    await Promise.all([once(a, "close"), once(b, "close")]);
    assert.equal(events.offline.length, 2);
    assert.deepEqual(registry.list(), []);
  });

  it("does not hand out a tunnel whose session is already gone", async () => {
    const registry = new TunnelRegistry("relay-test");
    const { tunnel, agent } = await openTunnel("dev-1");
    registry.add(tunnel);
    agent.session.destroy();
    // Synchronously after destroy, before the close event: get() already refuses it.
    assert.equal(registry.get("dev-1"), undefined);
  });

  it("opens a stream through the tunnel it hands out", async () => {
    const registry = new TunnelRegistry("relay-test");
    const { tunnel, agent } = await openTunnel("dev-1");
    registry.add(tunnel);
    agent.onStream((stream) => stream.respond(errorResponseHeaders(new FernlinkError("target-refused", "nobody home")), { endStream: true }));
    await assert.rejects(registry.get("dev-1")!.openStream({ host: "10.0.0.1", port: 502 }, meta), hasCode("target-refused"));
  });
});
