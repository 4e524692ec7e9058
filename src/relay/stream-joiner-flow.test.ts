import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { StreamAuthority } from "../protocol/relay-access.js";
import { HEADER } from "../protocol/stream-headers.js";
import { TUNNEL_WINDOW } from "../protocol/tunnel-settings.js";
import { createLogger } from "../shared/log.js";
import { readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "../shared/tunnel-session.js";
import { AgentTunnel } from "./agent-tunnel.js";
import { type CarriedStream, joinClientStream } from "./stream-joiner.js";
import { StreamThrottle } from "./stream-throttle.js";
import { TunnelRegistry } from "./tunnel-registry.js";

/**
 * Per-stream flow control through the relay, with the tunnel's own windows: one stream whose
 * reader stops, at either end, must neither stall its siblings on the same two connections
 * nor make the relay hold more than the windows of that one stream.
 *
 * client session ⇄ relay (joinClientStream) ⇄ stand-in agent, HTTP/2 on loopback. The agent
 * serves three targets: port 7 echoes, port 19 sends without end, port 9 never reads.
 */
const SIBLINGS = 63;
const ECHO_BYTES = 256 * 1024;
/**
 * What the two hops may hold for one stream: a stream window each (as each receiving end sized
 * it to its round trip, tunnel-session.ts), plus the relay's and Node's stream buffers. Set once
 * the four session ends have tuned their windows.
 */
let heldLimit = 2 * TUNNEL_WINDOW.streamWindowBytes + 256 * 1024;
/** The smallest stream window any end announced: what a stalled stream fills at least. */
let smallestWindow = TUNNEL_WINDOW.streamWindowBytes;

/** Writes 64 KiB chunks into `stream` until it is destroyed, with backpressure; returns the bytes it took so far. */
function firehose(stream: ServerHttp2Stream | ClientHttp2Stream): () => number {
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let taken = 0;
  const pump = (): void => {
    while (!stream.destroyed) {
      if (!stream.write(chunk, () => (taken += chunk.length))) return void stream.once("drain", pump);
    }
  };
  pump();
  return () => taken;
}

/**
 * Resolves once `read()` stopped changing for `quietMs` (flow control has stopped the stream),
 * or at once when it passed the held limit (nothing is stopping it).
 */
async function settled(read: () => number, quietMs = 300): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const now = read();
    if (now > heldLimit) return now;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return now;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("flow control through the relay, one stalled stream among 64", { timeout: 30_000 }, () => {
  let agent: Http2Server;
  let relay: Http2Server;
  let agentSession: ClientHttp2Session;
  let client: ClientHttp2Session;
  /** Bytes the agent's port-19 stream has taken so far. */
  let agentSent = (): number => 0;
  const live = new Map<string, CarriedStream>();

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
      allowedTargets: ["127.0.0.2"],
    }),
    record: () => {},
  };

  const listen = async (server: Http2Server): Promise<string> => {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  before(async () => {
    const tuned: Promise<number | undefined>[] = [];
    agent = http2.createServer(TUNNEL_SESSION_OPTIONS);
    agent.on("session", (session) => tuned.push(readyTunnelSession(session)));
    agent.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      stream.respond({ ":status": 200 });
      const port = headers[":authority"]?.split(":")[1];
      if (port === "7") stream.pipe(stream);
      else if (port === "19") agentSent = firehose(stream);
      else stream.pause();
    });
    agentSession = http2.connect(await listen(agent), TUNNEL_SESSION_OPTIONS);
    tuned.push(readyTunnelSession(agentSession));
    await once(agentSession, "remoteSettings");
    const registry = new TunnelRegistry("relay-test");
    registry.add(new AgentTunnel({ deviceId: "d", accountId: "a", deviceName: "press-7", certSerial: "1" }, "127.0.0.1", agentSession, new Date()));
    relay = http2.createServer(TUNNEL_SESSION_OPTIONS);
    relay.on("session", (session) => tuned.push(readyTunnelSession(session)));
    const deps = {
      authority,
      live,
      registry,
      throttle: new StreamThrottle({ perSecond: 1e6, burst: 1e6 }),
      log: createLogger("test", { level: "error" }),
      now: () => new Date(),
    };
    relay.on("stream", (stream, headers) => void joinClientStream(stream, headers, "127.0.0.1", deps));
    client = http2.connect(await listen(relay), TUNNEL_SESSION_OPTIONS);
    tuned.push(readyTunnelSession(client));
    while (tuned.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
    const windows = (await Promise.all(tuned)).map((w) => w ?? TUNNEL_WINDOW.streamWindowBytes);
    heldLimit = 2 * Math.max(...windows) + 256 * 1024;
    smallestWindow = Math.min(...windows);
  });
  after(() => {
    client.destroy();
    agentSession.destroy();
    relay.close();
    agent.close();
  });

  const open = async (port: number): Promise<ClientHttp2Stream> => {
    const stream = client.request({ ":method": "CONNECT", ":authority": `127.0.0.2:${port}`, [HEADER.device]: "press-7", authorization: "Bearer t" });
    stream.on("error", () => {});
    const [headers] = (await once(stream, "response")) as [IncomingHttpHeaders];
    assert.equal(headers[":status"], 200);
    return stream;
  };

  /** 63 streams each echo their own random bytes back unchanged, all at once. */
  const siblingsEcho = async (): Promise<void> => {
    await Promise.all(
      Array.from({ length: SIBLINGS }, async () => {
        const stream = await open(7);
        const sent = randomBytes(ECHO_BYTES);
        const chunks: Buffer[] = [];
        let got = 0;
        const back = new Promise<void>((resolve) =>
          stream.on("data", (chunk: Buffer) => {
            chunks.push(chunk);
            got += chunk.length;
            if (got === ECHO_BYTES) resolve();
          }),
        );
        stream.write(sent);
        await back;
        assert.ok(Buffer.concat(chunks).equals(sent), "a sibling's bytes came back changed");
        stream.close();
      }),
    );
  };

  it("a client that stops reading a download holds it at two stream windows, and its 63 siblings keep flowing", async () => {
    const stalled = await open(19);
    stalled.pause();
    await siblingsEcho();
    const held = await settled(() => agentSent());
    assert.ok(held >= smallestWindow, `only ${held} bytes left the agent: the stream never filled its window`);
    assert.ok(held <= heldLimit, `${held} bytes left the agent for a reader that reads nothing (limit ${heldLimit})`);
    await siblingsEcho();
    stalled.close();
  });

  it("a target that stops reading an upload holds it at two stream windows, and its 63 siblings keep flowing", async () => {
    const stalled = await open(9);
    const clientSent = firehose(stalled);
    await siblingsEcho();
    const held = await settled(clientSent);
    assert.ok(held >= smallestWindow, `only ${held} bytes left the client: the stream never filled its window`);
    assert.ok(held <= heldLimit, `${held} bytes left the client for a target that reads nothing (limit ${heldLimit})`);
    await siblingsEcho();
    stalled.close();
  });
});
