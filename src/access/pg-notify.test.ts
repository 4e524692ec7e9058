import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { createLogger } from "../shared/log.js";
import { channelOf, type ListenClient, listenChannel } from "./pg-notify.js";

/** A client whose connection the test breaks at will. */
class FakeClient extends EventEmitter implements ListenClient {
  queries: string[] = [];
  ended = false;
  constructor(private readonly refuse: boolean) {
    super();
  }
  connect(): Promise<void> {
    return this.refuse ? Promise.reject(new Error("connection refused")) : Promise.resolve();
  }
  query(text: string): Promise<void> {
    this.queries.push(text);
    return Promise.resolve();
  }
  end(): Promise<void> {
    this.ended = true;
    return Promise.resolve();
  }
}

const quiet = createLogger("test", { level: "error", write: () => {} });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function harness(refusals: boolean[]) {
  const clients: FakeClient[] = [];
  const delays: number[] = [];
  const timers: (() => void)[] = [];
  const payloads: string[] = [];
  const listened: boolean[] = [];
  const lost: number[] = [];
  const listening = listenChannel({
    channel: "fernlink_s",
    newClient: () => {
      const c = new FakeClient(refusals.shift() ?? false);
      clients.push(c);
      return c;
    },
    onPayload: (p) => payloads.push(p),
    onListening: (gap) => listened.push(gap),
    onLost: () => lost.push(clients.length),
    log: quiet,
    random: () => 1,
    setTimer: (fn, ms) => {
      delays.push(ms);
      timers.push(fn);
      return () => {};
    },
  });
  const fire = async (): Promise<void> => {
    timers.shift()?.();
    await tick();
  };
  return { clients, delays, payloads, listened, lost, listening, fire };
}

describe("the LISTEN connection", () => {
  it("listens on the schema's channel and hands over its payloads only", async () => {
    const h = harness([]);
    await h.listening.ready;
    const c = h.clients[0]!;
    assert.deepEqual(c.queries, ['listen "fernlink_s"']);
    c.emit("notification", { channel: "fernlink_s", payload: "one" });
    c.emit("notification", { channel: "other", payload: "two" });
    assert.deepEqual(h.payloads, ["one"]);
    assert.deepEqual(h.listened, [false]);
    await h.listening.close();
    assert.equal(c.ended, true);
  });

  it("reconnects with growing delays until the server answers, then says payloads may have been missed; each loss is told", async () => {
    const h = harness([false, true, true]);
    await h.listening.ready;
    h.clients[0]!.emit("error", new Error("terminating connection due to administrator command"));
    await tick();
    assert.equal(h.clients[0]!.ended, true);
    await h.fire();
    await h.fire();
    await h.fire();
    assert.equal(h.clients.length, 4);
    assert.deepEqual(h.delays, [250, 500, 1000]);
    assert.deepEqual(h.listened, [false, true]);
    assert.deepEqual(h.lost, [1, 2, 3], "the loss and each failed attempt are told, by client");
    // A payload on the dropped connection is not delivered twice or late.
    h.clients[0]!.emit("notification", { channel: "fernlink_s", payload: "stale" });
    h.clients[3]!.emit("notification", { channel: "fernlink_s", payload: "fresh" });
    assert.deepEqual(h.payloads, ["fresh"]);
    // After a success the delay starts small again.
    h.clients[3]!.emit("end");
    await tick();
    assert.equal(h.delays.at(-1), 250);
    await h.listening.close();
  });

  it("stops reconnecting once closed", async () => {
    const h = harness([]);
    await h.listening.ready;
    await h.listening.close();
    h.clients[0]!.emit("end");
    await tick();
    assert.deepEqual(h.delays, []);
  });
});

describe("channelOf", () => {
  it("names one channel per schema, within PostgreSQL's 63 bytes", () => {
    assert.equal(channelOf("fernlink_e2e_1"), "fernlink_fernlink_e2e_1");
    const long = channelOf("s".repeat(63));
    assert.ok(long.length <= 63);
    assert.notEqual(long, channelOf("t".repeat(63)));
  });
});
