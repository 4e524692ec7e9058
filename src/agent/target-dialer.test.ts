import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { type ErrorCode, FernlinkError } from "../protocol/errors.js";
import { Allowlist, parseAllowRule } from "./allowlist.js";
import { dialTarget } from "./target-dialer.js";

interface Target {
  server: Server;
  port: number;
  accepted: Socket[];
  /** Resolves once an accepted connection satisfies `match`. */
  accepts(match: (socket: Socket) => boolean): Promise<void>;
}

const open: Target[] = [];
const dialed: Socket[] = [];

async function listen(): Promise<Target> {
  const accepted: Socket[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((socket) => {
    accepted.push(socket);
    for (const wake of waiters) wake();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepts = (match: (socket: Socket) => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!accepted.some(match)) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  const target = { server, port: (server.address() as AddressInfo).port, accepted, accepts };
  open.push(target);
  return target;
}

/** A port on 127.0.0.1 that was free a moment ago and has nobody listening now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

function allow(...rules: string[]): Allowlist {
  return new Allowlist(rules.map(parseAllowRule));
}

function hasCode(code: ErrorCode): (err: unknown) => boolean {
  return (err) => err instanceof FernlinkError && err.code === code;
}

/** Resolves once the target accepted the connection `socket` made. */
function acceptedBy(target: Target, socket: Socket): Promise<void> {
  return target.accepts((s) => s.remotePort === socket.localPort);
}

/**
 * Fails if anything dialed the target before now: a probe dialed now is accepted after any
 * earlier connection (accepts come in arrival order), so once it is, it must be the only one.
 */
async function assertNothingDialed(target: Target): Promise<void> {
  const probe = connect(target.port, "127.0.0.1");
  dialed.push(probe);
  await once(probe, "connect");
  await acceptedBy(target, probe);
  assert.deepEqual(
    target.accepted.map((s) => s.remotePort),
    [probe.localPort],
    "only the probe reached the target",
  );
}

afterEach(async () => {
  for (const socket of dialed.splice(0)) socket.destroy();
  for (const { server, accepted } of open.splice(0)) {
    for (const socket of accepted) socket.destroy();
    server.close();
  }
});

describe("dialTarget", { timeout: 20_000 }, () => {
  it("connects to an allowed target and carries bytes", async () => {
    const target = await listen();
    const socket = await dialTarget({ host: "127.0.0.1", port: target.port }, allow("127.0.0.1"), "press-1");
    dialed.push(socket);
    assert.equal(socket.remotePort, target.port);
    socket.write("ping");
    await acceptedBy(target, socket);
    assert.equal(target.accepted.length, 1);
    const [chunk] = (await once(target.accepted[0]!, "data")) as [Buffer];
    assert.equal(chunk.toString(), "ping");
  });

  it("connects when the port is one of the allowed ports", async () => {
    const target = await listen();
    const socket = await dialTarget({ host: "127.0.0.1", port: target.port }, allow(`127.0.0.0/8:1,${target.port}`), "press-1");
    dialed.push(socket);
    await acceptedBy(target, socket);
    assert.equal(target.accepted.length, 1);
  });

  it("reports target-refused when nothing listens on the port", async () => {
    const port = await closedPort();
    await assert.rejects(dialTarget({ host: "127.0.0.1", port }, allow("127.0.0.0/8"), "press-1"), hasCode("target-refused"));
  });

  it("refuses an address outside the allowlist with target-not-allowed without dialing", async () => {
    const target = await listen();
    await assert.rejects(dialTarget({ host: "127.0.0.1", port: target.port }, allow("192.168.0.0/16"), "press-1"), hasCode("target-not-allowed"));
    await assertNothingDialed(target);
  });

  it("refuses a port the rule does not list with target-not-allowed without dialing", async () => {
    const target = await listen();
    const other = target.port === 65535 ? 1 : target.port + 1;
    await assert.rejects(dialTarget({ host: "127.0.0.1", port: target.port }, allow(`127.0.0.1:${other}`), "press-1"), hasCode("target-not-allowed"));
    await assertNothingDialed(target);
  });

  it("refuses everything with an empty allowlist", async () => {
    const target = await listen();
    await assert.rejects(dialTarget({ host: "127.0.0.1", port: target.port }, new Allowlist([]), "press-1"), hasCode("target-not-allowed"));
    await assertNothingDialed(target);
  });

  it("resolves a host name on the agent and allows it when the resolved address is allowed", async () => {
    const target = await listen();
    const socket = await dialTarget({ host: "localhost", port: target.port }, allow("127.0.0.0/8"), "press-1");
    dialed.push(socket);
    assert.equal(socket.remoteAddress, "127.0.0.1");
    await acceptedBy(target, socket);
    assert.equal(target.accepted.length, 1);
  });

  it("checks a host name after resolution, so localhost is refused by a 10.0.0.0/8 allowlist", async () => {
    // Refused before any dial: no packet goes to 10/8, and the local listener sees nothing.
    const target = await listen();
    await assert.rejects(dialTarget({ host: "localhost", port: target.port }, allow("10.0.0.0/8"), "press-1"), hasCode("target-not-allowed"));
    await assertNothingDialed(target);
  });
});
