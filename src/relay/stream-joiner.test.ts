import assert from "node:assert/strict";
import { once } from "node:events";
import http2, { type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import type { StreamAuthority, StreamEvent } from "../protocol/relay-access.js";
import { HEADER } from "../protocol/stream-headers.js";
import { createLogger } from "../shared/log.js";
import { ResetBudget } from "../shared/reset-budget.js";
import { abortStream, openCancellable } from "../shared/stream-cancel.js";
import { AgentTunnel } from "./agent-tunnel.js";
import type { StreamOpener } from "./peer-relays.js";
import { type CarriedStream, joinClientStream, liveView, openInProcessStream } from "./stream-joiner.js";
import { StreamThrottle } from "./stream-throttle.js";
import { TunnelRegistry } from "./tunnel-registry.js";

/** A list whose `until` resolves once its items satisfy a condition, re-checked on each push. */
class Watched<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const wake of this.waiters) wake();
  }

  until(condition: (items: readonly T[]) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!condition(this.items)) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    });
  }
}

/** Relay and a stand-in agent as plain HTTP/2 on loopback: the agent echoes every stream. */
describe("joining a client stream to the agent", { timeout: 10_000 }, () => {
  const agentHeaders = new Watched<IncomingHttpHeaders>();
  const recorded = new Watched<StreamEvent>();
  const events = recorded.items;
  const live = new Map<string, CarriedStream>();
  const registry = new TunnelRegistry("relay-test");
  let agent: Http2Server;
  let relay: Http2Server;
  let agentSession: ClientHttp2Session;
  let client: ClientHttp2Session;
  let inProcess: (device: string) => ReturnType<typeof openInProcessStream>;

  const authority: StreamAuthority = {
    authenticate: async () => ({ accountId: "a", userId: "u", userName: "bob", role: "member", sessionId: "s" }),
    authorize: async (who) => ({
      accountId: who.accountId,
      userId: who.userId,
      userName: who.userName,
      sessionId: who.sessionId,
      deviceId: "d",
      deviceName: "press-7",
      lastSeen: null,
      allowedTargets: ["127.0.0.2:502", "plc.local:502"],
    }),
    record: (event) => recorded.push(event),
  };

  const listen = async (server: Http2Server): Promise<string> => {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  before(async () => {
    agent = http2.createServer();
    agent.on("stream", (stream, headers) => {
      agentHeaders.push(headers);
      stream.on("error", () => {});
      // Like a real agent it confirms a UDP stream, except "an agent from before UDP" on port 503.
      const confirms = headers[HEADER.protocol] !== undefined && headers[":authority"] !== "127.0.0.2:503";
      stream.respond({ ":status": 200, ...(confirms ? { [HEADER.protocol]: headers[HEADER.protocol] } : {}) });
      stream.pipe(stream);
    });
    agentSession = http2.connect(await listen(agent));
    agentSession.on("error", () => {});
    await once(agentSession, "remoteSettings");
    registry.add(new AgentTunnel({ deviceId: "d", accountId: "a", deviceName: "press-7", certSerial: "1" }, "127.0.0.1", agentSession, new Date()));
    relay = http2.createServer();
    const deps = {
      authority,
      live,
      registry,
      throttle: new StreamThrottle({ perSecond: 1e6, burst: 1e6 }),
      log: createLogger("test", { level: "error" }),
      now: () => new Date(),
    };
    relay.on("stream", (stream, headers) => void joinClientStream(stream, headers, "127.0.0.1", deps));
    inProcess = (device) => openInProcessStream({ token: "t", device, target: { host: "127.0.0.2", port: 502 }, source: "portal" }, deps);
    client = http2.connect(await listen(relay));
    client.on("error", () => {});
  });
  after(() => {
    client.destroy();
    agentSession.destroy();
    relay.close();
    agent.close();
  });

  const open = async () => {
    const stream = client.request({ ":method": "CONNECT", ":authority": "127.0.0.2:502", [HEADER.device]: "press-7", authorization: "Bearer t" });
    const [headers] = (await once(stream, "response")) as [IncomingHttpHeaders];
    assert.equal(headers[":status"], 200);
    stream.write("ping");
    const [chunk] = (await once(stream, "data")) as [Buffer];
    assert.equal(chunk.toString(), "ping");
    return stream;
  };

  it("passes the grant's allowed targets to the agent with the stream", async () => {
    const stream = await open();
    assert.equal(agentHeaders.items.at(-1)?.[HEADER.allowedTargets], "127.0.0.2:502 plc.local:502");
    stream.close();
  });

  it("passes a UDP stream on marked as UDP, and records it as one", async () => {
    const stream = client.request({
      ":method": "CONNECT",
      ":authority": "127.0.0.2:502",
      [HEADER.device]: "press-7",
      [HEADER.protocol]: "udp",
      authorization: "Bearer t",
    });
    const [headers] = (await once(stream, "response")) as [IncomingHttpHeaders];
    assert.equal(headers[":status"], 200);
    assert.equal(headers[HEADER.protocol], "udp", "the answer confirms UDP");
    assert.equal(agentHeaders.items.at(-1)?.[HEADER.protocol], "udp");
    const [entry] = [...live.values()];
    assert.equal(entry?.request.protocol, "udp");
    stream.close();
    await recorded.until((all) => all.some((e) => e.kind === "closed" && e.streamId === entry?.streamId));
  });

  it("refuses a UDP stream that the agent answers without confirming UDP (an agent from before UDP)", async () => {
    const stream = client.request({
      ":method": "CONNECT",
      ":authority": "127.0.0.2:503",
      [HEADER.device]: "press-7",
      [HEADER.protocol]: "udp",
      authorization: "Bearer t",
    });
    const [headers] = (await once(stream, "response")) as [IncomingHttpHeaders];
    assert.equal(headers[":status"], 502);
    assert.equal(headers[HEADER.errorCode], "target-unreachable");
    assert.match(String(headers[HEADER.reason]), /does not carry UDP/);
    stream.close();
  });

  it("opens an in-process UDP stream for the server's own use, marked to the agent", async () => {
    const { stream, carried } = await openInProcessStream(
      { token: "t", device: "press-7", target: { host: "127.0.0.2", port: 161 }, source: "published-port", protocol: "udp" },
      {
        authority,
        live,
        registry,
        throttle: new StreamThrottle({ perSecond: 1e6, burst: 1e6 }),
        log: createLogger("test", { level: "error" }),
        now: () => new Date(),
      },
    );
    assert.equal(agentHeaders.items.at(-1)?.[HEADER.protocol], "udp");
    stream.end();
    await carried;
    assert.ok(events.some((e) => e.kind === "opened" && e.request.protocol === "udp" && e.request.source === "published-port"));
  });

  it("refuses a stream of an unknown protocol", async () => {
    const stream = client.request({ ":method": "CONNECT", ":authority": "127.0.0.2:502", [HEADER.device]: "press-7", [HEADER.protocol]: "sctp" });
    const [headers] = (await once(stream, "response")) as [IncomingHttpHeaders];
    assert.equal(headers[":status"], 400);
    assert.equal(headers[HEADER.errorCode], "invalid-input");
    stream.close();
  });

  it("resets a cut stream on the client at once and records its end", async () => {
    const stream = await open();
    const errored = once(stream, "error");
    const [entry] = [...live.values()];
    assert.ok(entry, "the stream is live");
    entry.cut();
    const [err] = (await errored) as [NodeJS.ErrnoException];
    assert.equal(err.code, "ERR_HTTP2_STREAM_ERROR");
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_REFUSED_STREAM);
    await recorded.until((all) => all.some((e) => e.kind === "closed" && e.streamId === entry.streamId));
    assert.equal(live.size, 0);
  });

  it("opens an in-process stream that is listed with live byte counts, recorded, and cut like a client's", async () => {
    const { stream, carried } = await inProcess("press-7");
    stream.write("hello");
    const [echo] = (await once(stream, "data")) as [Buffer];
    assert.equal(echo.toString(), "hello");
    const [entry] = [...live.values()];
    assert.ok(entry, "the stream is live");
    const view = liveView(entry);
    assert.equal(view.bytesUp, 5);
    assert.equal(view.bytesDown, 5);
    assert.equal(view.request.source, "portal");
    const closed = once(stream, "close");
    entry.cut();
    await closed;
    await carried;
    const end = events.find((e) => e.kind === "closed" && e.streamId === entry.streamId);
    assert.ok(end && end.kind === "closed" && end.bytesUp === 5);
    assert.equal(live.size, 0);
  });

  it("1,200 streams given up on both legs end neither connection (cancel trailers, not resets)", { timeout: 30_000 }, async () => {
    const before = agentHeaders.items.length;
    const closedBefore = events.filter((e) => e.kind === "closed").length;
    const tunnel = registry.get("d");
    assert.ok(tunnel);
    const budget = new ResetBudget();
    for (let i = 0; i < 1200; i++) {
      const stream = openCancellable(
        client,
        { ":method": "CONNECT", ":authority": "127.0.0.2:502", [HEADER.device]: "press-7", authorization: "Bearer t" },
        budget,
      );
      stream.on("error", () => {});
      await once(stream, "response");
      abortStream(stream);
      if (i % 2 === 0) await once(stream, "close");
    }
    await agentHeaders.until((all) => all.length - before >= 1200);
    assert.equal(agentHeaders.items.length - before, 1200, "every stream reached the agent, once");
    assert.equal(tunnel.isOpen, true, "the tunnel survived");
    assert.equal(agentSession.closed || agentSession.destroyed, false);
    assert.equal(client.closed || client.destroyed, false, "the client's connection survived");
    assert.equal(budget.waiting, 0);
    await recorded.until((all) => all.filter((e) => e.kind === "closed").length - closedBefore >= 1200);
    assert.equal(live.size, 0, "every stream ended");
  });

  it("refuses a user's streams to a device past its rate as too many streams, recorded once per window", async () => {
    let clock = 1_000_000;
    const throttled = {
      authority,
      live,
      registry,
      throttle: new StreamThrottle({ perSecond: 1, burst: 2 }, () => clock),
      log: createLogger("test", { level: "error" }),
      now: () => new Date(clock),
    };
    const request = (device: string) => ({ token: "t", device, target: { host: "127.0.0.2", port: 502 }, source: "portal" });
    const refusedBefore = events.filter((e) => e.kind === "refused").length;
    for (let i = 0; i < 2; i++) (await openInProcessStream(request("press-7"), throttled)).stream.destroy();
    await assert.rejects(openInProcessStream(request("press-7"), throttled), {
      code: "too-many-streams",
      message: /^too many streams to device "press-7": at most 1 per second/,
    });
    await assert.rejects(openInProcessStream(request("press-7"), throttled), { code: "too-many-streams" });
    (await openInProcessStream(request("press-8"), throttled)).stream.destroy();
    const refused = events.filter((e) => e.kind === "refused").slice(refusedBefore);
    assert.equal(refused.length, 1, "two refusals, one record");
    clock += 1000;
    (await openInProcessStream(request("press-7"), throttled)).stream.destroy();
  });

  it("records and throws a refusal of an in-process stream", async () => {
    const offline = once(registry, "offline");
    registry.get("d")?.close();
    await offline;
    await assert.rejects(inProcess("press-7"), { code: "device-offline" });
    assert.ok(events.some((e) => e.kind === "refused" && e.request.source === "portal"));
  });
});

/** A device that moved between relays while a stream was being opened on the old one. */
describe("opening a stream on the relay that holds the device", { timeout: 10_000 }, () => {
  let agent: Http2Server;
  let agentSession: ClientHttp2Session;
  let tunnel: AgentTunnel;
  before(async () => {
    agent = http2.createServer();
    agent.on("stream", (stream) => {
      stream.on("error", () => {});
      stream.respond({ ":status": 200 });
      stream.pipe(stream);
    });
    agent.listen(0, "127.0.0.1");
    await once(agent, "listening");
    agentSession = http2.connect(`http://127.0.0.1:${(agent.address() as AddressInfo).port}`);
    agentSession.on("error", () => {});
    await once(agentSession, "remoteSettings");
    tunnel = new AgentTunnel({ deviceId: "d", accountId: "a", deviceName: "press-7", certSerial: "1" }, "127.0.0.1", agentSession, new Date());
  });
  after(() => {
    agentSession.destroy();
    agent.close();
  });

  const deps = (forward: () => StreamOpener | undefined) => ({
    authority: {
      authenticate: async () => ({ accountId: "a", userId: "u", userName: "bob", role: "member" as const, sessionId: "s" }),
      authorize: async () => ({
        accountId: "a",
        userId: "u",
        userName: "bob",
        sessionId: "s",
        deviceId: "d",
        deviceName: "press-7",
        lastSeen: null,
        allowedTargets: ["127.0.0.2:502"],
      }),
      record: () => {},
    },
    live: new Map<string, CarriedStream>(),
    registry: new TunnelRegistry("access-test"),
    forward,
    throttle: new StreamThrottle({ perSecond: 1e6, burst: 1e6 }),
    log: createLogger("test", { level: "error" }),
    now: () => new Date(),
  });
  const request = { token: "t", device: "press-7", target: { host: "127.0.0.2", port: 502 }, source: "portal" };
  const oldRelay = (tries: { n: number }): StreamOpener => ({
    at: "https://r2.example:443",
    openStream: async () => {
      tries.n++;
      throw new FernlinkError("device-offline", "the device is no longer on this relay; try again");
    },
  });
  const newRelay: StreamOpener = { at: "https://r1.example:443", openStream: (target, meta) => tunnel.openStream(target, meta) };

  it("opens it once more where the device is now, when the old relay lost it and this node learns the new place", async () => {
    const tries = { n: 0 };
    let moved = false;
    setTimeout(() => (moved = true), 300);
    const { stream, carried } = await openInProcessStream(
      request,
      deps(() => (moved ? newRelay : oldRelay(tries))),
    );
    assert.equal(tries.n, 1);
    stream.write("ping");
    const [chunk] = (await once(stream, "data")) as [Buffer];
    assert.equal(chunk.toString(), "ping");
    stream.destroy();
    await carried;
  });

  it("refuses it when the device's place does not change within the wait", async () => {
    const tries = { n: 0 };
    const started = Date.now();
    await assert.rejects(
      openInProcessStream(
        request,
        deps(() => oldRelay(tries)),
      ),
      (err: FernlinkError) => err.code === "device-offline",
    );
    assert.equal(tries.n, 1, "the same relay is not asked again");
    assert.ok(Date.now() - started >= 2_500, "it waited for the device's new place");
  });
});
