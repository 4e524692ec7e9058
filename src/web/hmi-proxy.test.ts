import assert from "node:assert/strict";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { FernlinkError } from "../protocol/errors.js";
import { REMOTE_ACCESS_OFF_MESSAGE } from "../protocol/key-switch.js";
import type { WebGrants } from "../protocol/web-grants.js";
import { createLogger } from "../shared/log.js";
import { WEB_GRANT_COOKIE } from "./header-rewrite.js";
import { createHmiProxy } from "./hmi-proxy.js";

/** Grants as the proxy sees them: one grant, "g", for session "s" on target "abc". */
const grants: WebGrants = {
  issueLaunchCode: async () => "code",
  redeem: async (code, targetId) => (code === "code" && targetId === "abc" ? { grant: "g", path: "/" } : undefined),
  lookup: async (grant, targetId) => (grant === "g" && targetId === "abc" ? { sessionToken: "s", targetId } : undefined),
  holds: async (grant) => grant === "g",
  revoke: async () => undefined,
  endSession: async () => undefined,
};

describe("the HMI proxy's upgrades", () => {
  let hmi: net.Server;
  let front: http.Server;
  let port: number;
  let grant: string;
  let answer = "";

  before(async () => {
    // An HMI that answers any upgrade with `answer`, then echoes.
    hmi = net.createServer((socket) => {
      socket.once("data", () => {
        socket.write(answer);
        socket.pipe(socket);
      });
    });
    await new Promise<void>((resolve) => hmi.listen(0, "127.0.0.1", resolve));
    const hmiPort = (hmi.address() as AddressInfo).port;
    grant = (await grants.redeem(await grants.issueLaunchCode({ sessionToken: "s", targetId: "abc", path: "/" }), "abc"))!.grant;
    const proxy = createHmiProxy({
      domain: "localhost",
      grants,
      log: createLogger("test", { level: "error" }),
      resolve: async () => ({ scheme: "http", host: "192.168.1.10", port: 80, path: "/", open: async () => net.connect(hmiPort, "127.0.0.1") }),
    });
    front = http.createServer();
    front.on("upgrade", (req, socket, head) => proxy.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    port = (front.address() as AddressInfo).port;
    after(() => proxy.close());
  });
  after(async () => {
    front.closeAllConnections();
    await new Promise((resolve) => front.close(resolve));
    await new Promise((resolve) => hmi.close(resolve));
  });

  /** Sends a WebSocket upgrade to the proxy; resolves with everything read until `until` shows up. */
  function upgrade(until: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () =>
        socket.write(
          [
            "GET /ws HTTP/1.1",
            `host: w-abc.localhost:${port}`,
            `origin: https://w-abc.localhost:${port}`,
            `cookie: ${WEB_GRANT_COOKIE}=${grant}`,
            "connection: Upgrade",
            "upgrade: websocket",
            "sec-websocket-version: 13",
            "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
            "",
            "",
          ].join("\r\n"),
        ),
      );
      let read = "";
      socket.on("data", (d: Buffer) => {
        read += d.toString();
        if (until.test(read)) {
          socket.destroy();
          resolve(read);
        }
      });
      socket.once("error", reject);
      socket.once("close", () => resolve(read));
    });
  }

  it("rewrites a 101 answer like any other: no grant cookie, no Domain, Location on the public host", async () => {
    answer = [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
      `Set-Cookie: ${WEB_GRANT_COOKIE} =x; Path=/`,
      "Set-Cookie: hmi=1; Domain=192.168.1.10; Path=/",
      "Location: http://192.168.1.10/next",
      "",
      "after-101",
    ].join("\r\n");
    const read = await upgrade(/after-101/);
    const [head = "", body] = read.split("\r\n\r\n");
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(head, /\r\nconnection: Upgrade(\r\n|$)/);
    assert.match(head, /\r\nupgrade: websocket(\r\n|$)/);
    assert.match(head, /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
    assert.match(head, /\r\nset-cookie: hmi=1; Path=\/(\r\n|$)/);
    assert.doesNotMatch(head, /fernlink-web/i);
    assert.doesNotMatch(head, /Domain=/i);
    assert.match(head, new RegExp(`\\r\\nlocation: https://w-abc\\.localhost:${port}/next(\\r\\n|$)`));
    assert.equal(body, "after-101", "the bytes after the answer pass through");
  });

  it("rewrites an HMI that refuses the upgrade too", async () => {
    answer = ["HTTP/1.1 302 Found", `Set-Cookie: ${WEB_GRANT_COOKIE}=y`, "Location: http://192.168.1.10/login", "Content-Length: 0", "", ""].join("\r\n");
    const read = await upgrade(/\r\n\r\n/);
    assert.match(read, /^HTTP\/1\.1 302 Found\r\n/);
    assert.doesNotMatch(read, /fernlink-web/i);
    assert.match(read, new RegExp(`location: https://w-abc\\.localhost:${port}/login`));
  });
});

describe("the HMI proxy's refusals", () => {
  it("shows a stream refused by the machine's key switch as switched off on site, with the agent's own words", async () => {
    const proxy = createHmiProxy({
      domain: "localhost",
      grants,
      log: createLogger("test", { level: "error" }),
      resolve: async () => ({
        scheme: "http",
        host: "192.168.1.10",
        port: 80,
        path: "/",
        open: () => Promise.reject(new FernlinkError("remote-access-off", REMOTE_ACCESS_OFF_MESSAGE)),
      }),
    });
    const front = http.createServer((req, res) => proxy.handle(req, res));
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    const { port } = front.address() as AddressInfo;
    try {
      const { status, page } = await new Promise<{ status: number; page: string }>((resolve, reject) => {
        const req = http.get({ port, host: "127.0.0.1", path: "/", headers: { host: `w-abc.localhost:${port}`, cookie: `${WEB_GRANT_COOKIE}=g` } }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (s: string) => (body += s));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, page: body }));
        });
        req.on("error", reject);
      });
      assert.equal(status, 403);
      assert.match(page, /Switched off on site/);
      assert.match(page, new RegExp(REMOTE_ACCESS_OFF_MESSAGE));
    } finally {
      proxy.close();
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    }
  });
});
