import assert from "node:assert/strict";
import { once } from "node:events";
import http2, { type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { TUNNEL_WINDOW } from "../protocol/tunnel-settings.js";
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
  readyTunnelSession(serverSession);
  await once(client, "remoteSettings");
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(client.state.localWindowSize, TUNNEL_WINDOW.connectionWindowBytes);
  assert.equal(serverSession.remoteSettings.initialWindowSize, TUNNEL_WINDOW.streamWindowBytes);
  client.emit("error", new Error("peer vanished"));
  assert.deepEqual(
    errors.map((e) => e.message),
    ["peer vanished"],
  );
  client.destroy();
  serverSession.destroy();
  server.close();
});
