import assert from "node:assert/strict";
import { once } from "node:events";
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type Http2Server,
  connect as h2connect,
  createServer as h2createServer,
  type ServerHttp2Session,
} from "node:http2";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { decodeKeepalivePing } from "../protocol/keepalive-ping.js";
import { startKeepalive, watchKeepalive } from "./keepalive.js";

/**
 * client session ⇄ TCP proxy ⇄ HTTP/2 server. The proxy stands in for the network path: while
 * it forwards, PINGs are answered; `blackhole()` makes it swallow every byte in both
 * directions, as a NAT that dropped the flow would, while both TCP connections stay open.
 * (Freezing one of the HTTP/2 endpoints instead does not work: Node's HTTP/2 reads its socket
 * in C++, so pausing the JS socket does not stop the PING ACK.)
 */
interface Path {
  client: ClientHttp2Session;
  /** The HTTP/2 server's end of the same connection. */
  server: ServerHttp2Session;
  blackhole: () => void;
}

const cleanup: (() => void)[] = [];

async function listening(server: Server | Http2Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

async function path(): Promise<Path> {
  const h2 = h2createServer();
  h2.on("session", (session) => cleanup.push(() => session.destroy()));
  const serverSession = once(h2, "session") as Promise<[ServerHttp2Session]>;
  const h2port = await listening(h2);

  let dropping = false;
  const proxySockets: Socket[] = [];
  const proxy = createServer((down) => {
    const up = connect({ host: "127.0.0.1", port: h2port });
    proxySockets.push(down, up);
    for (const s of [down, up]) s.on("error", () => {});
    down.on("data", (chunk: Buffer) => dropping || up.write(chunk));
    up.on("data", (chunk: Buffer) => dropping || down.write(chunk));
    // A blackhole drops the ends too, as a pulled cable does: the pinging side giving up
    // first must not close the watcher's connection for it.
    down.on("close", () => dropping || up.destroy());
    up.on("close", () => dropping || down.destroy());
  });
  const proxyPort = await listening(proxy);

  const client = h2connect(`http://127.0.0.1:${proxyPort}`);
  client.on("error", () => {});
  await once(client, "connect");
  // One round trip so that the server's SETTINGS ACK has been seen before timing starts.
  await new Promise<void>((resolve, reject) => client.ping((err) => (err ? reject(err) : resolve())));

  cleanup.push(() => {
    client.destroy();
    for (const s of proxySockets) s.destroy();
    proxy.close();
    h2.close();
  });
  const [server] = await serverSession;
  server.on("error", () => {});
  return { client, server, blackhole: () => (dropping = true) };
}

/**
 * An HTTP/2 stream that echoes, on a session of its own; `leave()` has the server end the
 * session gracefully (GOAWAY) while the stream stays open, as an agent that moved does.
 */
async function echoStream(): Promise<{ client: ClientHttp2Session; stream: ClientHttp2Stream; leave: () => Promise<void> }> {
  const h2 = h2createServer();
  const serverSession = new Promise<ServerHttp2Session>((resolve) => h2.once("session", resolve));
  h2.on("stream", (s) => {
    s.respond({ ":status": 200 });
    s.pipe(s);
  });
  const client = h2connect(`http://127.0.0.1:${await listening(h2)}`);
  client.on("error", () => {});
  cleanup.push(() => {
    client.destroy();
    h2.close();
  });
  const stream = client.request({ ":method": "POST", ":path": "/" }, { endStream: false });
  stream.setEncoding("utf8");
  stream.write("before");
  assert.deepEqual(await once(stream, "data"), ["before"]);
  const leave = async (): Promise<void> => {
    (await serverSession).close();
    await once(client, "goaway");
  };
  return { client, stream, leave };
}

/** The stream of `echoStream` still carries bytes both ways, then ends with its session. */
async function stillEchoes(client: ClientHttp2Session, stream: ClientHttp2Stream): Promise<void> {
  assert.equal(client.destroyed, false);
  stream.write("after");
  assert.deepEqual(await once(stream, "data"), ["after"]);
  stream.end();
  await once(client, "close");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

describe("startKeepalive", { timeout: 10_000 }, () => {
  it("keeps a session up while the peer answers its PINGs", async () => {
    const { client } = await path();
    let pings = 0;
    type PingCallback = (err: Error | null, duration: number, payload: Buffer) => void;
    const realPing = client.ping.bind(client) as (callback: PingCallback) => boolean;
    (client as unknown as { ping: (callback: PingCallback) => boolean }).ping = (callback) => {
      pings++;
      return realPing(callback);
    };
    let dead = 0;
    const stop = startKeepalive(client, { intervalMs: 50, timeoutMs: 100, onDead: () => dead++ });
    await sleep(600);
    stop();
    assert.equal(dead, 0);
    assert.equal(client.destroyed, false);
    assert.ok(pings >= 5, `only ${pings} PINGs were sent in 600 ms at a 50 ms interval`);
  });

  it("destroys the session and calls onDead once when the peer stops answering", async () => {
    const { client, blackhole } = await path();
    let dead = 0;
    const closed = new Promise((resolve) => client.once("close", resolve));
    const started = Date.now();
    startKeepalive(client, { intervalMs: 50, timeoutMs: 100, onDead: () => dead++ });
    await sleep(120);
    assert.equal(dead, 0, "declared dead while the path still worked");
    blackhole();
    await closed;
    const elapsed = Date.now() - started;
    assert.equal(client.destroyed, true);
    assert.equal(dead, 1);
    assert.ok(elapsed < 1000, `took ${elapsed} ms to notice a dead path`);
    await sleep(200);
    assert.equal(dead, 1);
  });

  it("runs onDead before the session is destroyed", async () => {
    const { client, blackhole } = await path();
    let destroyedAtOnDead: boolean | undefined;
    const closed = new Promise((resolve) => client.once("close", resolve));
    startKeepalive(client, { intervalMs: 20, timeoutMs: 50, onDead: () => (destroyedAtOnDead = client.destroyed) });
    blackhole();
    await closed;
    assert.equal(destroyedAtOnDead, false);
  });

  it("stops by itself when the session closes normally", async () => {
    const { client } = await path();
    let dead = 0;
    startKeepalive(client, { intervalMs: 20, timeoutMs: 50, onDead: () => dead++ });
    client.close();
    await once(client, "close");
    await sleep(150);
    assert.equal(dead, 0);
  });

  it("leaves a session closing gracefully alone while its open stream finishes", async () => {
    const { client, stream, leave } = await echoStream();
    let dead = 0;
    startKeepalive(client, { intervalMs: 20, timeoutMs: 50, onDead: () => dead++ });
    // The peer leaves (GOAWAY): Node marks the client closed and cancels every PING from now on.
    await leave();
    await sleep(200);
    assert.equal(dead, 0, "a cancelled PING of a closing session was taken for a dead peer");
    await stillEchoes(client, stream);
  });

  it("sends nothing more and never fires once stopped", async () => {
    const { client, blackhole } = await path();
    let dead = 0;
    const stop = startKeepalive(client, { intervalMs: 20, timeoutMs: 50, onDead: () => dead++ });
    stop();
    blackhole();
    await sleep(200);
    assert.equal(dead, 0);
    assert.equal(client.destroyed, false);
  });
});

describe("watchKeepalive", { timeout: 10_000 }, () => {
  it("keeps a session up while the peer PINGs, and sends no PING of its own", async () => {
    const { client, server } = await path();
    let serverPings = 0;
    client.on("ping", () => serverPings++);
    let dead = 0;
    const stopPinging = startKeepalive(client, { intervalMs: 100, timeoutMs: 400 });
    const stop = watchKeepalive(server, { intervalMs: 100, timeoutMs: 400, onDead: () => dead++ });
    await sleep(1_000);
    stop();
    stopPinging();
    assert.equal(dead, 0);
    assert.equal(server.destroyed, false);
    assert.equal(serverPings, 0, "the watching end sent PINGs");
  });

  it("destroys the session and calls onDead once, within interval + timeout, when the peer's PINGs stop arriving", async () => {
    const { client, server, blackhole } = await path();
    let dead = 0;
    let destroyedAtOnDead: boolean | undefined;
    const closed = new Promise((resolve) => server.once("close", resolve));
    // Wide enough that a loaded machine's late timers are not taken for silence.
    startKeepalive(client, { intervalMs: 100, timeoutMs: 400 });
    watchKeepalive(server, {
      intervalMs: 100,
      timeoutMs: 400,
      onDead: () => {
        dead++;
        destroyedAtOnDead = server.destroyed;
      },
    });
    await sleep(1_000);
    assert.equal(dead, 0, "declared dead while the PINGs arrived");
    blackhole();
    const silentSince = Date.now();
    await closed;
    const elapsed = Date.now() - silentSince;
    assert.equal(dead, 1);
    assert.equal(destroyedAtOnDead, false);
    assert.ok(elapsed < 3_000, `took ${elapsed} ms to notice the silence`);
  });

  it("believes the interval a PING announces: a slow pinger outlives the watcher's own silence limit", async () => {
    const { client, server } = await path();
    const payloads: Buffer[] = [];
    server.on("ping", (payload: Buffer) => payloads.push(payload));
    let dead = 0;
    watchKeepalive(server, { intervalMs: 100, timeoutMs: 200, onDead: () => dead++ });
    // Announced at once, then every 800 ms: well past the watcher's 300 ms of silence.
    const stopPinging = startKeepalive(client, { intervalMs: 800, timeoutMs: 400, announce: true });
    await sleep(150);
    assert.equal(payloads.length, 1, "the announcing PING did not go out at once");
    assert.deepEqual(decodeKeepalivePing(payloads[0]), { intervalMs: 800, timeoutMs: 400 });
    await sleep(1_700);
    stopPinging();
    assert.equal(dead, 0, "a slow pinger that announced its interval was cut");
    assert.equal(server.destroyed, false);
  });

  it("without an announcement, the same slow pinger is cut after the watcher's own silence limit", async () => {
    const { client, server } = await path();
    let dead = 0;
    const closed = new Promise((resolve) => server.once("close", resolve));
    watchKeepalive(server, { intervalMs: 100, timeoutMs: 200, onDead: () => dead++ });
    const stopPinging = startKeepalive(client, { intervalMs: 800, timeoutMs: 400 });
    await closed;
    stopPinging();
    assert.equal(dead, 1);
  });

  it("cuts an announcing peer once its own announced interval and timeout have passed in silence", async () => {
    const { client, server, blackhole } = await path();
    let dead = 0;
    const closed = new Promise((resolve) => server.once("close", resolve));
    watchKeepalive(server, { intervalMs: 100, timeoutMs: 200, onDead: () => dead++ });
    startKeepalive(client, { intervalMs: 500, timeoutMs: 300, announce: true });
    await sleep(100);
    blackhole();
    const silentSince = Date.now();
    await closed;
    const elapsed = Date.now() - silentSince;
    assert.equal(dead, 1);
    assert.ok(elapsed >= 600 && elapsed < 3_000, `cut after ${elapsed} ms of silence, announced 800 ms`);
  });

  it("leaves a session closing gracefully alone: the peer that sent GOAWAY cannot PING any more", async () => {
    const { client, stream, leave } = await echoStream();
    let dead = 0;
    watchKeepalive(client, { intervalMs: 20, timeoutMs: 30, onDead: () => dead++ });
    await leave();
    await sleep(200);
    assert.equal(dead, 0, "the silence of a closing session was taken for a dead peer");
    await stillEchoes(client, stream);
  });

  it("stops by itself when the session closes normally", async () => {
    const { client, server } = await path();
    let dead = 0;
    watchKeepalive(server, { intervalMs: 20, timeoutMs: 30, onDead: () => dead++ });
    client.close();
    await once(server, "close");
    await sleep(150);
    assert.equal(dead, 0);
  });
});
