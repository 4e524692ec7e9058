import assert from "node:assert/strict";
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { type JoinResult, joinStreams } from "./join-streams.js";

/** Two ends of one loopback TCP connection; both keep their write side open after a FIN. */
interface Pair {
  near: Socket;
  far: Socket;
}

const servers: Server[] = [];
const sockets: Socket[] = [];

async function socketPair(): Promise<Pair> {
  const server = createServer({ allowHalfOpen: true });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const far = connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, allowHalfOpen: true });
  await once(far, "connect");
  const [near] = await accepted;
  sockets.push(near, far);
  return { near, far };
}

/**
 * user ⇄ (a ⇄ joined ⇄ b) ⇄ target: `a` and `b` are joined; the test talks through
 * `user` (the far end of a) and `target` (the far end of b).
 */
async function joined(): Promise<{ user: Socket; target: Socket; a: Socket; b: Socket; done: Promise<JoinResult>; calls: () => number }> {
  const [ua, bt] = await Promise.all([socketPair(), socketPair()]);
  let calls = 0;
  const done = new Promise<JoinResult>((resolve) => {
    joinStreams(ua.near, bt.near, (result) => {
      calls++;
      resolve(result);
    });
  });
  return { user: ua.far, target: bt.far, a: ua.near, b: bt.near, done, calls: () => calls };
}

function collect(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once("end", () => resolve(Buffer.concat(chunks)));
    socket.once("error", reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : once(socket, "close").then(() => undefined);
}

function tick(ms = 50): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

describe("joinStreams", { timeout: 10_000 }, () => {
  it("carries bytes both ways and counts them per direction", async () => {
    const { user, target, done } = await joined();
    const up = Buffer.alloc(300_000, 1);
    const down = Buffer.alloc(123_457, 2);
    const atTarget = collect(target);
    const atUser = collect(user);
    user.end(up);
    target.end(down);
    assert.deepEqual(await atTarget, up);
    assert.deepEqual(await atUser, down);
    const result = await done;
    assert.deepEqual(result, { bytesAtoB: up.length, bytesBtoA: down.length, error: undefined });
  });

  it("keeps the other direction open after one side ends (half-close)", async () => {
    const { user, target, done, calls } = await joined();
    const atTarget = collect(target);
    user.end("request");
    assert.equal((await atTarget).toString(), "request");

    // The user has finished sending; the answer still flows back to it.
    const atUser = collect(user);
    target.write("answer part 1, ");
    await tick();
    assert.equal(calls(), 0, "the join finished while one direction was still open");
    target.end("part 2");
    assert.equal((await atUser).toString(), "answer part 1, part 2");

    const result = await done;
    assert.equal(result.error, undefined);
    assert.equal(result.bytesAtoB, "request".length);
    assert.equal(result.bytesBtoA, "answer part 1, part 2".length);
    assert.equal(calls(), 1);
  });

  it("half-closes the other way round too", async () => {
    const { user, target, done } = await joined();
    const atUser = collect(user);
    target.end("banner");
    assert.equal((await atUser).toString(), "banner");
    const atTarget = collect(target);
    user.end("late request");
    assert.equal((await atTarget).toString(), "late request");
    assert.equal((await done).error, undefined);
  });

  it("destroys the other side when one side fails and reports the error once", async () => {
    const { user, target, a, b, done, calls } = await joined();
    user.on("error", () => {});
    target.on("error", () => {});
    user.write("hello");
    await once(target, "data");
    const targetSeesEnd = once(target, "end");
    target.resume();
    const boom = new Error("boom");
    a.destroy(boom);
    const result = await done;
    assert.equal(result.error, boom);
    await Promise.all([closed(a), closed(b)]);
    assert.equal(b.destroyed, true);
    await targetSeesEnd; // b's connection is gone: the target reads EOF
    await tick();
    assert.equal(calls(), 1);
  });

  it("destroys the user side when the target side is reset by its peer", async () => {
    const { user, target, a, done, calls } = await joined();
    user.on("error", () => {});
    const userSeesEnd = once(user, "end");
    user.resume();
    target.resetAndDestroy();
    const result = await done;
    assert.ok(result.error, "a reset is reported as an error");
    assert.equal((result.error as NodeJS.ErrnoException).code, "ECONNRESET");
    await closed(a);
    await userSeesEnd; // a's connection is gone: the user reads EOF
    await tick();
    assert.equal(calls(), 1);
  });

  it("reports an error that comes after one direction already ended, once", async () => {
    const { user, target, b, done, calls } = await joined();
    user.on("error", () => {});
    const atTarget = collect(target);
    user.end("bye");
    await atTarget;
    const late = new Error("late failure");
    b.destroy(late);
    const result = await done;
    assert.equal(result.error, late);
    await tick();
    assert.equal(calls(), 1);
  });

  it("forwards input that waited in a reader paused before the join (a handshake's leftover)", async () => {
    const [ua, bt] = await Promise.all([socketPair(), socketPair()]);
    ua.near.pause();
    ua.far.write("early bytes");
    while (ua.near.readableLength === 0) await tick(10);
    const received = collect(bt.far);
    joinStreams(ua.near, bt.near);
    ua.far.end();
    assert.equal((await received).toString(), "early bytes");
  });
});
