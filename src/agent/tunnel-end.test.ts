import assert from "node:assert/strict";
import { once } from "node:events";
import http2, { type ServerHttp2Session } from "node:http2";
import net, { type AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { tunnelEnded } from "./tunnel-end.js";

/** The agent's side (an HTTP/2 server over a socket it dialled) and the relay's client session. */
async function tunnel(): Promise<{ agent: ServerHttp2Session; relay: http2.ClientHttp2Session; relaySocket: net.Socket; close: () => void }> {
  const listener = net.createServer();
  listener.listen(0, "127.0.0.1");
  await once(listener, "listening");
  const accepted = once(listener, "connection") as Promise<[net.Socket]>;
  const dialled = net.connect((listener.address() as AddressInfo).port, "127.0.0.1");
  const [relaySocket] = await accepted;
  const server = http2.createServer();
  const session = once(server, "session") as Promise<[ServerHttp2Session]>;
  server.emit("connection", dialled);
  const relay = http2.connect("http://device", { createConnection: () => relaySocket });
  relay.on("error", () => {});
  const [agent] = await session;
  agent.on("error", () => {});
  await once(agent, "remoteSettings");
  const close = (): void => {
    relay.destroy();
    agent.destroy();
    relaySocket.destroy();
    listener.close();
  };
  return { agent, relay, relaySocket, close };
}

describe("tunnelEnded", { timeout: 10_000 }, () => {
  it("says the relay sent GOAWAY with its code", async () => {
    const t = await tunnel();
    const ended = tunnelEnded(t.agent);
    t.relay.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR);
    t.relay.destroy();
    assert.equal(await ended, "the relay sent GOAWAY (HTTP/2 error code 2)");
    t.close();
  });

  it("resolves when the connection is torn down under the session", async () => {
    const t = await tunnel();
    const ended = tunnelEnded(t.agent);
    t.relaySocket.resetAndDestroy();
    assert.match(await ended, /ECONNRESET|the relay closed the connection/);
    t.close();
  });

  it("resolves at once for a session that is already over", async () => {
    const t = await tunnel();
    t.agent.destroy();
    await once(t.agent, "close");
    assert.equal(await tunnelEnded(t.agent), "the relay closed the connection");
    t.close();
  });
});
