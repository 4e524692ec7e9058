import assert from "node:assert/strict";
import { once } from "node:events";
import http2, { type ClientHttp2Session, type Http2Server, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { StreamAuthority, StreamEvent } from "../protocol/relay-access.js";
import { HEADER } from "../protocol/stream-headers.js";
import { createLogger } from "../shared/log.js";
import { AgentTunnel } from "./agent-tunnel.js";
import { joinClientStream, liveView, openInProcessStream, type CarriedStream } from "./stream-joiner.js";
import { TunnelRegistry } from "./tunnel-registry.js";

/** Relay and a stand-in agent as plain HTTP/2 on loopback: the agent echoes every stream. */
describe("joining a client stream to the agent", { timeout: 10_000 }, () => {
  const agentHeaders: IncomingHttpHeaders[] = [];
  const events: StreamEvent[] = [];
  const live = new Map<string, CarriedStream>();
  const registry = new TunnelRegistry();
  let agent: Http2Server;
  let relay: Http2Server;
  let agentSession: ClientHttp2Session;
  let client: ClientHttp2Session;
  let inProcess: (device: string) => ReturnType<typeof openInProcessStream>;

  const authority: StreamAuthority = {
    authenticate: async () => ({ accountId: "a", userId: "u", userName: "bob", role: "member" }),
    authorize: async (who) => ({ accountId: who.accountId, userId: who.userId, userName: who.userName, deviceId: "d", deviceName: "press-7", lastSeen: null, allowedTargets: ["127.0.0.2:502", "plc.local:502"] }),
    record: (event) => void events.push(event),
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
      stream.respond({ ":status": 200 });
      stream.pipe(stream);
    });
    agentSession = http2.connect(await listen(agent));
    agentSession.on("error", () => {});
    await once(agentSession, "remoteSettings");
    registry.add(new AgentTunnel({ deviceId: "d", accountId: "a", deviceName: "press-7", certSerial: "1" }, "127.0.0.1", agentSession, new Date()));
    relay = http2.createServer();
    const deps = { authority, live, registry, log: createLogger("test", { level: "error" }), now: () => new Date() };
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
    assert.equal(agentHeaders.at(-1)?.[HEADER.allowedTargets], "127.0.0.2:502 plc.local:502");
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
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(events.some((e) => e.kind === "closed" && e.streamId === entry.streamId));
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

  it("records and throws a refusal of an in-process stream", async () => {
    registry.get("d")?.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await assert.rejects(inProcess("press-7"), { code: "device-offline" });
    assert.ok(events.some((e) => e.kind === "refused" && e.request.source === "portal"));
  });
});
