import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { type Duplex, PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { SocksClient } from "socks";
import { FernlinkError } from "../protocol/errors.js";
import type { HostPort } from "../protocol/target.js";
import { datagramChannel } from "../shared/datagram-channel.js";
import { duplexPair } from "../shared/duplex-pair.js";
import { REP } from "./socks5-codec.js";
import { type Socks5Server, startSocks5Server } from "./socks5-server.js";

function connectTcp(target: HostPort, signal: AbortSignal): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, signal });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

async function listen(server: { listen: (port: number, host: string) => unknown; address: () => unknown }) {
  server.listen(0, "127.0.0.1");
  await once(server as unknown as NodeJS.EventEmitter, "listening");
  return (server.address() as AddressInfo).port;
}

async function readExactly(socket: Socket, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    total += chunk.length;
    if (total >= length) break;
  }
  return Buffer.concat(chunks);
}

// A broken relay tends to hang rather than fail, so bound every test.
const LIMIT = { timeout: 10_000 };

describe("SOCKS5 server", () => {
  const echo = createServer((socket) => socket.pipe(socket));
  const http = createHttpServer((_req, res) => res.end("hello through the tunnel\n"));
  let echoPort = 0;
  let httpPort = 0;
  let proxy: Socks5Server;
  let refusing: Socks5Server;
  const reported: unknown[] = [];
  const opened: HostPort[] = [];

  before(async () => {
    echoPort = await listen(echo);
    httpPort = await listen(http);
    proxy = await startSocks5Server({
      host: "127.0.0.1",
      port: 0,
      open: (target, signal) => {
        opened.push(target);
        return connectTcp(target, signal);
      },
    });
    refusing = await startSocks5Server({
      host: "127.0.0.1",
      port: 0,
      open: (target) => Promise.reject(new FernlinkError("target-refused", `${target.host} refused`)),
      onError: (err) => reported.push(err),
    });
  });

  after(async () => {
    await Promise.all([proxy.close(), refusing.close()]);
    echo.close();
    http.close();
  });

  const proxyOf = (server: Socks5Server) => ({ host: server.address.host, port: server.address.port, type: 5 as const });

  it("relays 1 MiB through to an echo server and back intact", LIMIT, async () => {
    const { socket } = await SocksClient.createConnection({
      proxy: proxyOf(proxy),
      command: "connect",
      destination: { host: "127.0.0.1", port: echoPort },
    });
    const data = randomBytes(1024 * 1024);
    socket.end(data);
    const chunks: Buffer[] = [];
    for await (const chunk of socket as AsyncIterable<Buffer>) chunks.push(chunk);
    assert.ok(Buffer.concat(chunks).equals(data));
  });

  it("passes on an answer's second piece at once, not after the client's delayed ACK (no Nagle)", LIMIT, async () => {
    // Each question gets its answer in two writes 2 ms apart, as a device writing header and body.
    const twoPieces = createServer({ noDelay: true }, (s) =>
      s.on("data", () => {
        s.write("a");
        setTimeout(() => s.write("b"), 2);
      }),
    );
    const port = await listen(twoPieces);
    const { socket } = await SocksClient.createConnection({ proxy: proxyOf(proxy), command: "connect", destination: { host: "127.0.0.1", port } });
    socket.setNoDelay(true);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      socket.write("q");
      let got = "";
      await new Promise<void>((resolve) => {
        const onData = (chunk: Buffer): void => {
          got += chunk.toString();
          if (got === "ab") {
            socket.off("data", onData);
            resolve();
          }
        };
        socket.on("data", onData);
      });
      times.push(performance.now() - start);
    }
    socket.destroy();
    twoPieces.close();
    times.sort((x, y) => x - y);
    // With Nagle on the proxy's socket the "b" waits for the ACK of "a": about 40 ms each time.
    assert.ok(times[10]! < 20, `median round trip ${times[10]!.toFixed(1)} ms: the second piece waited for an ACK`);
  });

  it("serves curl an HTTP page by host name, resolving it only on the target side", LIMIT, async () => {
    const { stdout } = await promisify(execFile)("curl", [
      "--silent",
      "--show-error",
      "--max-time",
      "10",
      "--socks5-hostname",
      `127.0.0.1:${proxy.address.port}`,
      `http://localhost:${httpPort}/`,
    ]);
    assert.equal(stdout, "hello through the tunnel\n");
    assert.ok(opened.some((t) => t.host === "localhost" && t.port === httpPort));
  });

  it("forwards bytes a client pipelines right after its request", LIMIT, async () => {
    const socket = connect(proxy.address.port, "127.0.0.1");
    await once(socket, "connect");
    const request = [5, 1, 0, 1, 127, 0, 0, 1, echoPort >> 8, echoPort & 0xff];
    socket.write(Buffer.concat([Buffer.from([5, 1, 0, ...request]), Buffer.from("early")]));
    const answer = await readExactly(socket, 2 + 10 + 5);
    assert.deepEqual(answer, Buffer.from([5, 0, 5, REP.succeeded, 0, 1, 0, 0, 0, 0, 0, 0, ...Buffer.from("early")]));
    socket.destroy();
  });

  it("answers a refused target with REP 0x05 and reports the failure", LIMIT, async () => {
    await assert.rejects(
      SocksClient.createConnection({ proxy: proxyOf(refusing), command: "connect", destination: { host: "10.9.9.9", port: 502 } }),
      /rejected connection - ConnectionRefused$/,
    );
    assert.ok(reported.some((err) => err instanceof FernlinkError && err.code === "target-refused"));
  });

  it("relays UDP ASSOCIATE datagrams per target with their boundaries, and ends them with the control connection", LIMIT, async () => {
    const targets: HostPort[] = [];
    const streams: Duplex[] = [];
    const udpProxy = await startSocks5Server({
      host: "127.0.0.1",
      port: 0,
      open: () => Promise.reject(new Error("no TCP here")),
      openUdp: async (target) => {
        targets.push(target);
        const [ours, theirs] = duplexPair();
        streams.push(theirs);
        // The far end answers each datagram with the target's port and the same bytes.
        const channel = datagramChannel(ours, {
          onDatagram: (d) => channel.send(Buffer.concat([Buffer.from(`${target.port}:`), d])),
          onEnd: () => channel.close(),
        });
        return theirs;
      },
    });
    const client = new SocksClient({ proxy: proxyOf(udpProxy), command: "associate", destination: { host: "0.0.0.0", port: 0 } });
    const established = once(client, "established");
    client.connect();
    const [info] = (await established) as [{ socket: Socket; remoteHost: { host: string; port: number } }];
    const udp = createSocket("udp4");
    udp.bind(0, "127.0.0.1");
    await once(udp, "listening");
    const answers: Buffer[] = [];
    udp.on("message", (m) => answers.push(m));
    for (const [port, data] of [
      [53, "a"],
      [161, "x".repeat(1400)],
      [53, "bc"],
    ] as const) {
      udp.send(SocksClient.createUDPFrame({ remoteHost: { host: "10.1.2.3", port }, data: Buffer.from(data) }), info.remoteHost.port, info.remoteHost.host);
    }
    for (let i = 0; i < 100 && answers.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const frames = answers.map((a) => SocksClient.parseUDPFrame(a));
    assert.deepEqual(frames.map((f) => f.data.toString()).sort(), [`161:${"x".repeat(1400)}`, "53:a", "53:bc"]);
    assert.ok(frames.every((f) => f.remoteHost.host === "10.1.2.3"));
    assert.deepEqual(
      targets.map((t) => t.port),
      [53, 161],
      "one stream per target",
    );
    const ended = Promise.all(streams.map((s) => once(s, "close")));
    info.socket.destroy();
    await ended;
    udp.close();
    await udpProxy.close();
  });

  it("answers UDP ASSOCIATE with REP 0x07 when it has no way to carry UDP", LIMIT, async () => {
    // createConnection() only speaks CONNECT, so drive a client instance directly.
    const client = new SocksClient({ proxy: proxyOf(proxy), command: "associate", destination: { host: "0.0.0.0", port: 0 } });
    const failed = once(client, "error");
    client.connect();
    const [err] = (await failed) as [Error];
    assert.match(err.message, /rejected connection - CommandNotSupported$/);
  });

  it("answers a client that offers only username/password with no acceptable method", LIMIT, async () => {
    const socket = connect(proxy.address.port, "127.0.0.1");
    socket.end(Buffer.from([5, 1, 0x02]));
    assert.deepEqual(await readExactly(socket, 2), Buffer.from([5, 0xff]));
  });

  it("drops a client that never finishes its handshake once the deadline passes", LIMIT, async () => {
    const slow = await startSocks5Server({ host: "127.0.0.1", port: 0, open: connectTcp, handshakeTimeoutMs: 100 });
    try {
      const socket = connect(slow.address.port, "127.0.0.1");
      socket.write(Buffer.from([5, 1]));
      socket.resume();
      await once(socket, "close");
    } finally {
      await slow.close();
    }
  });

  it("tears down the client when the target stream dies, and the target when the client leaves", LIMIT, async () => {
    const streams: Duplex[] = [];
    const open = async () => streams[streams.push(new PassThrough()) - 1]!;
    const server = await startSocks5Server({ host: "127.0.0.1", port: 0, open });
    const destination = { host: "10.0.0.1", port: 502 };
    try {
      const first = await SocksClient.createConnection({ proxy: proxyOf(server), command: "connect", destination });
      first.socket.resume();
      const clientClosed = once(first.socket, "close");
      streams[0]!.destroy(new Error("tunnel dropped"));
      await clientClosed;
      const second = await SocksClient.createConnection({ proxy: proxyOf(server), command: "connect", destination });
      const targetClosed = once(streams[1]!, "close");
      second.socket.destroy();
      await targetClosed;
    } finally {
      await server.close();
    }
  });

  it("tears down live connections when closed", LIMIT, async () => {
    const server = await startSocks5Server({ host: "127.0.0.1", port: 0, open: connectTcp });
    const { socket } = await SocksClient.createConnection({
      proxy: proxyOf(server),
      command: "connect",
      destination: { host: "127.0.0.1", port: echoPort },
    });
    socket.resume();
    const closed = once(socket, "close");
    await server.close();
    await closed;
  });
});
