import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import type { ProxySetting } from "../protocol/proxy-settings.js";
import { connectThroughProxy } from "./proxy-tunnel.js";

/** A loopback HTTP proxy that answers CONNECT as `answer` says, then splices to the target. */
function fakeProxy(answer: (head: string) => string | undefined): net.Server {
  return net.createServer((client) => {
    let buffered = "";
    client.on("data", function onData(chunk: Buffer) {
      buffered += chunk.toString("latin1");
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.removeListener("data", onData);
      const head = buffered.slice(0, end);
      const refusal = answer(head);
      if (refusal) {
        client.end(refusal);
        return;
      }
      const [, host, port] = /^CONNECT \[?([^\]\s]+?)\]?:(\d+) /.exec(head) ?? [];
      const upstream = net.connect(Number(port), host, () => {
        client.write("HTTP/1.1 200 Connection established\r\n\r\n");
        client.pipe(upstream).pipe(client);
      });
      upstream.on("error", () => client.destroy());
    });
  });
}

describe("CONNECT through an HTTP proxy", () => {
  const echo = net.createServer((s) => s.pipe(s));
  const basic = fakeProxy((head) =>
    head.includes("Proxy-Authorization: Basic YWxpY2U6czNjcmV0")
      ? undefined
      : 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="plant"\r\nContent-Length: 0\r\n\r\n',
  );
  const ntlm = fakeProxy(() => "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\n\r\n");
  const forbidding = fakeProxy(() => "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
  const port = (s: net.Server): number => (s.address() as net.AddressInfo).port;
  const proxy = (s: net.Server, password?: string): ProxySetting => ({
    host: "127.0.0.1",
    port: port(s),
    source: "--proxy",
    noProxy: [],
    ...(password !== undefined ? { credentials: { user: "alice", password } } : {}),
  });
  before(async () => {
    for (const s of [echo, basic, ntlm, forbidding]) s.listen(0, "127.0.0.1");
    await Promise.all([echo, basic, ntlm, forbidding].map((s) => once(s, "listening")));
  });
  after(() => {
    for (const s of [echo, basic, ntlm, forbidding]) s.close();
  });

  it("answers a Basic challenge and then carries bytes both ways", async () => {
    const socket = await connectThroughProxy(proxy(basic, "s3cret"), "127.0.0.1", port(echo));
    const received = once(socket, "data");
    // Handed over paused: its reader (TLS) takes it from there.
    socket.resume();
    socket.write("ping");
    const [data] = (await received) as [Buffer];
    assert.equal(data.toString(), "ping");
    socket.destroy();
  });

  it("keeps the tunnel open past the dial's deadline", async () => {
    const socket = await connectThroughProxy(proxy(basic, "s3cret"), "127.0.0.1", port(echo), AbortSignal.timeout(200));
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(socket.destroyed, false);
    const received = once(socket, "data");
    socket.resume();
    socket.write("still there");
    assert.equal(String(((await received) as [Buffer])[0]), "still there");
    socket.destroy();
  });

  it("says in one line that the proxy refused the user, without the password", async () => {
    await assert.rejects(connectThroughProxy(proxy(basic, "wrong"), "127.0.0.1", port(echo)), (err: unknown) => {
      assert.ok(err instanceof FernlinkError);
      assert.match(err.message, /^the proxy 127\.0\.0\.1:\d+ \(--proxy\) refused the user "alice" \(407\): check the user and FERNLINK_PROXY_PASSWORD$/);
      assert.doesNotMatch(err.message, /wrong/);
      return true;
    });
  });

  it("asks for a user when the proxy wants one and none was given", async () => {
    await assert.rejects(connectThroughProxy(proxy(basic), "127.0.0.1", port(echo)), /asks for basic: give the user with --proxy http:\/\/USER@HOST:PORT/);
  });

  it("names NTLM and Negotiate as not supported", async () => {
    await assert.rejects(
      connectThroughProxy(proxy(ntlm, "x"), "127.0.0.1", port(echo)),
      /asks for ntlm, negotiate authentication, which Fernlink does not support/,
    );
  });

  it("names the target the proxy would not let through, and a proxy that is not there", async () => {
    await assert.rejects(connectThroughProxy(proxy(forbidding), "127.0.0.1", 443), /refused CONNECT to 127\.0\.0\.1:443 \(403 Forbidden\): ask the plant's IT/);
    const closed = port(forbidding);
    const gone = { ...proxy(forbidding), port: closed };
    forbidding.close();
    await once(forbidding, "close");
    await assert.rejects(connectThroughProxy(gone, "127.0.0.1", 443), /cannot reach the proxy 127\.0\.0\.1:\d+ \(--proxy\) \(ECONNREFUSED\)/);
  });
});
