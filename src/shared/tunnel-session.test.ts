import assert from "node:assert/strict";
import { once } from "node:events";
import http2, { type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { TUNNEL_WINDOW, WINDOW_TUNING } from "../protocol/tunnel-settings.js";
import { readyTunnelSession, TUNNEL_SESSION_OPTIONS } from "./tunnel-session.js";

test("a readied session announces the stream window, widens the connection window and hears its errors", async () => {
  const server = http2.createServer(TUNNEL_SESSION_OPTIONS);
  const accepted = once(server, "session") as Promise<[ServerHttp2Session]>;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, TUNNEL_SESSION_OPTIONS);
  const errors: Error[] = [];
  readyTunnelSession(client, (err) => errors.push(err));
  const [serverSession] = await accepted;
  // The first SETTINGS, before either end measured its round trip.
  const firstSettings = once(serverSession, "remoteSettings") as Promise<[http2.Settings]>;
  readyTunnelSession(serverSession);
  await once(client, "remoteSettings");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(client.state.localWindowSize, TUNNEL_WINDOW.connectionWindowBytes);
  assert.equal((await firstSettings)[0].initialWindowSize, TUNNEL_WINDOW.streamWindowBytes);
  client.emit("error", new Error("peer vanished"));
  assert.deepEqual(
    errors.map((e) => e.message),
    ["peer vanished"],
  );
  client.destroy();
  serverSession.destroy();
  server.close();
});

test("each end sizes the stream window it announces to the round trip it measured", async () => {
  const server = http2.createServer(TUNNEL_SESSION_OPTIONS);
  const accepted = once(server, "session") as Promise<[ServerHttp2Session]>;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, TUNNEL_SESSION_OPTIONS);
  const clientTuned = readyTunnelSession(client);
  const [serverSession] = await accepted;
  const serverTuned = readyTunnelSession(serverSession);
  const [clientWindow, serverWindow] = await Promise.all([clientTuned, serverTuned]);
  for (const window of [clientWindow, serverWindow]) {
    assert.ok(window !== undefined && window >= WINDOW_TUNING.minStreamWindowBytes && window <= WINDOW_TUNING.maxStreamWindowBytes, `window ${window}`);
  }
  // Each end's new SETTINGS reach the other: what it may send on each stream from then on.
  const deadline = Date.now() + 10_000;
  while (serverSession.remoteSettings.initialWindowSize !== clientWindow || client.remoteSettings.initialWindowSize !== serverWindow) {
    assert.ok(Date.now() < deadline, "the tuned windows never reached the peers");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(client.state.localWindowSize !== undefined && client.state.localWindowSize >= TUNNEL_WINDOW.connectionWindowBytes);
  client.destroy();
  serverSession.destroy();
  server.close();
});
